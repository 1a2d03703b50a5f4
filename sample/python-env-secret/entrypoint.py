import hashlib
import os


class FatmanEntrypoint:
    def perform(self) -> dict:
        """Show the runtime env: plain values, and only a fingerprint of the secret token."""
        token = os.environ.get("API_TOKEN", "")
        return {
            "greeting": os.environ.get("GREETING"),
            "model_zoo": os.environ.get("MODEL_ZOO"),
            "token_set": bool(token),
            "token_sha256_prefix": hashlib.sha256(token.encode()).hexdigest()[:8] if token else None,
        }
