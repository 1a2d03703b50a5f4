"""A Flask webview in Racetrack's shape: routes under base_url."""

from flask import Flask, jsonify, render_template, request


class Job:
    def perform(self) -> str:
        return "see /api/v1/webview/"

    def webview_app(self, base_url: str):
        app = Flask(__name__, template_folder="templates")

        @app.route(base_url + "/")
        def index():
            return render_template("index.html", base_url=base_url)

        @app.route(base_url + "/postme", methods=["POST"])
        def postme():
            return jsonify({"hello": request.json})

        return app.wsgi_app
