"""The control plane: `racetrack server`, Racetrack's Lifecycle API for a team (users, deploys, jobs)."""
