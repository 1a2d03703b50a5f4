"""A job whose ASGI (Starlette) webview has a page and a websocket echo, as a live UI would use one."""

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


class Job:
    def perform(self, x: int) -> int:
        return x

    def webview_app(self, base_url: str) -> Starlette:
        async def page(request):
            return HTMLResponse(f'<script>new WebSocket("{base_url}/echo")</script>')

        async def echo(socket: WebSocket) -> None:
            await socket.accept()
            await socket.send_text(f"path {socket.scope['path']} root {socket.scope['root_path']}")
            try:
                while True:
                    await socket.send_text("echo: " + await socket.receive_text())
            except WebSocketDisconnect:
                pass

        return Starlette(routes=[Route("/", page), WebSocketRoute("/echo", echo)])
