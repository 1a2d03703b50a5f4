import racetrack_secret_probe


class SecretProbe:
    def perform(self) -> str:
        """The value of the package installed from the private index."""
        return racetrack_secret_probe.VALUE
