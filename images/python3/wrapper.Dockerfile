# racetrack wrapper base: Python plus racetrack installed from its wheel into its own venv
# (/opt/racetrack/venv). Built once per racetrack source digest and base image, then reused by every job.
# racetrack.build fills in the double-brace placeholders; the rest is plain Dockerfile.
FROM {{ base_image }} AS install
COPY racetrack-build/ /opt/racetrack-build/
ENV PIP_CONFIG_FILE=/opt/racetrack-build/pip.conf
RUN python3 -m venv /opt/racetrack/venv \
 && /opt/racetrack/venv/bin/pip install --no-cache-dir --progress-bar off --no-warn-script-location /opt/racetrack-build/{{ wheel }} \
 && site="$(/opt/racetrack/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
 && /opt/racetrack/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib", vars={"base": "/opt/job/venv"}))' \
    > "$site/racetrack-job-venv.pth"
# The .pth above appends the job venv's site-packages to sys.path: user code sees its own packages,
# and the wrapper's come first.

FROM {{ base_image }}
COPY --from=install /opt/racetrack/venv /opt/racetrack/venv
RUN useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin racetrack
ENV PATH=/opt/racetrack/venv/bin:/opt/job/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
