"""The swarm target: a job version is a Docker Swarm service with `replicas` tasks (see docs/deploying.md)."""
