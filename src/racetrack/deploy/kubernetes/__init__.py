"""The kubernetes target: a job version is a Deployment, a Service and a Secret (see docs/deploying.md)."""
