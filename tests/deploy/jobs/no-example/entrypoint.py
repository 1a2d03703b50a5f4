"""A job without a docs input example, asking for more replicas than the docker target runs."""


class NoExample:
    def perform(self, x: float) -> float:
        """Double x."""
        return 2 * x
