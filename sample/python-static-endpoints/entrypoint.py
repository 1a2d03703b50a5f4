class FatmanEntrypoint:
    def perform(self) -> str:
        """Point at the static files this job serves."""
        return "see /api/v1/xrai, /api/v1/manifest, /api/v1/docs/readme and /api/v1/docs/pages/"

    def static_endpoints(self):
        """Dict of endpoint paths mapped to corresponding static files that ought be served."""
        return {
            "/xrai": "xrai.yaml",
            "/manifest": ("fatman.yaml", "application/x-yaml"),
            "/docs/readme": "README.md",
            "/docs/pages": "docs/",
        }
