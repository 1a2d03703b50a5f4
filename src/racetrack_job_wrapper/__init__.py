"""The names job code imports from Racetrack's runtime library (`racetrack_job_wrapper`), served by racetrack.

`from racetrack_job_wrapper.endpoint_config import EndpointConfig`, `from racetrack_job_wrapper.call import
call_job` (and `call_job_coroutine`, `async_job_call`) and `from racetrack_job_wrapper.entrypoint import
JobEntrypoint` work unchanged in our images.
"""

from racetrack_job_wrapper.call import async_job_call, call_job, call_job_coroutine
from racetrack_job_wrapper.endpoint_config import EndpointConfig
from racetrack_job_wrapper.entrypoint import JobEntrypoint

__all__ = ["EndpointConfig", "JobEntrypoint", "async_job_call", "call_job", "call_job_coroutine"]
