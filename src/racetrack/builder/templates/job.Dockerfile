# A job image on the racetrack wrapper base. Layer order keeps code-only changes fast: system packages,
# then the requirements in the job's own venv (/opt/job/venv, never mixed with the wrapper's), then the
# source; each stage is one phase of the build's progress (dockerfile.STAGE_PHASES). racetrack.builder fills in the double-brace placeholders; the rest is plain Dockerfile.
# build_env is a set of ARGs, declared in each stage that runs build steps: visible to apt and pip, not
# set in the final image's config (ARGs end with their stage).
FROM {{ wrapper_image }} AS system
USER root
{{ build_env }}
{{ system_packages }}

# Requirements are installed in a stage of their own: its CA bundle never reaches the final image, and
# the host's pip settings and the secret build env exist only in the pip process (see secret_exec.py).
# RACETRACK_PIP_INPUTS, a keyed digest of those settings and values, puts them in this step's cache key.
FROM system AS requirements
{{ build_env }}
ARG RACETRACK_PIP_INPUTS=
COPY racetrack-build/ /opt/racetrack-build/
ENV SSL_CERT_FILE=/opt/racetrack-build/ca.crt \
    REQUESTS_CA_BUNDLE=/opt/racetrack-build/ca.crt \
    GIT_SSL_CAINFO=/opt/racetrack-build/ca.crt
{{ requirements }}

FROM system AS job
COPY --from=requirements /opt/job/venv /opt/job/venv
{{ runtime_env }}
COPY --chown=racetrack:racetrack job/ /src/job/
WORKDIR /src/job
USER racetrack
EXPOSE 7000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7000/live', timeout=4)"]
CMD ["python", "-m", "racetrack.wrapper", "run", "--manifest", "fatman.yaml"]
