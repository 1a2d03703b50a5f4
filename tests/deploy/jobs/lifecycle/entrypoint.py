"""A job for the deploy tests; its secret runtime env decides how it starts and behaves."""

import os
import time


class LifecycleJob:
    def __init__(self) -> None:
        time.sleep(float(os.environ.get("INIT_SECONDS") or 0))
        token = os.environ.get("MODEL_TOKEN")
        print(f"loading the model with token {token}", flush=True)
        if token == "revoked":
            raise PermissionError("the model registry refused MODEL_TOKEN")

    def perform(self, x: float, y: float) -> float:
        """Multiply two numbers (or fail, when PERFORM_MODE=broken)."""
        if os.environ.get("PERFORM_MODE") == "broken":
            raise RuntimeError("perform is broken in this deployment")
        return x * y

    def docs_input_example(self) -> dict:
        return {"x": 20, "y": 5}

    def auxiliary_endpoints(self) -> dict:
        return {"/whoami": self.whoami}

    def whoami(self) -> dict:
        """What the deployer told this job about itself."""
        return {
            "name": os.environ.get("FATMAN_NAME"),
            "version": os.environ.get("FATMAN_VERSION"),
            "git_version": os.environ.get("GIT_VERSION"),
            "deployed_at": os.environ.get("DEPLOYMENT_TIMESTAMP"),
            "deployed_at_seconds": os.environ.get("JOB_DEPLOYMENT_TIMESTAMP"),
            "deployed_by": os.environ.get("DEPLOYED_BY_RACETRACK_VERSION"),
            "greeting": os.environ.get("GREETING"),
            "token_set": bool(os.environ.get("MODEL_TOKEN")),
        }
