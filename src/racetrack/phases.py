"""The phases of a build and deploy, named once: the CLI's progress display and the control plane's
deployment `phase` both use these names."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    QUEUED = "queued"  # a control plane's deployment waiting for a free builder
    SOURCE = "source"
    BASE_IMAGE = "base image"
    WRAPPER_LAYER = "wrapper layer"
    SYSTEM_PACKAGES = "system packages"
    REQUIREMENTS = "requirements"
    JOB_CODE = "job code"
    CONTRACT_CHECK = "contract check"
    START = "start"
    LIVE = "live"
    READY = "ready"
    SMOKE_TEST = "smoke test"


BUILD_PHASES = (
    Phase.SOURCE,
    Phase.BASE_IMAGE,
    Phase.WRAPPER_LAYER,
    Phase.SYSTEM_PACKAGES,
    Phase.REQUIREMENTS,
    Phase.JOB_CODE,
    Phase.CONTRACT_CHECK,
)
DEPLOY_PHASES = (*BUILD_PHASES, Phase.START, Phase.LIVE, Phase.READY, Phase.SMOKE_TEST)
