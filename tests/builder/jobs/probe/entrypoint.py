import os
import subprocess
import sys

import six
from helpers import greeting


class ProbeEntrypoint:
    def perform(self) -> dict:
        """Report what the image holds: the apt package, the pip package, env, user, import paths."""
        jq = subprocess.run(["jq", "--version"], capture_output=True, text=True, check=True).stdout.strip()
        return {
            "greeting": greeting(),
            "jq": jq,
            "six_file": six.__file__,
            "runtime_env": os.environ.get("PROBE_RUNTIME"),
            "dollar": os.environ.get("PROBE_DOLLAR"),
            "build_env": os.environ.get("PROBE_REQUIREMENT"),
            "uid": os.getuid(),
            "cwd": os.getcwd(),
            "sys_path": sys.path,
        }
