class FatmanEntrypoint:
    def __init__(self) -> None:
        self.calls = 0

    def perform(self, word: str) -> int:
        """
        Count the letters of a word.
        :param word: Any word.
        """
        self.calls += 1
        return len(word)

    def docs_input_example(self) -> dict:
        return {"word": "racetrack"}

    def metrics(self):
        """Custom gauges exported at /metrics next to the built-in call metrics."""
        return [
            {
                "name": "fatman_words_counted",
                "description": "Words counted since the job started",
                "value": self.calls,
                "labels": {"color": "blue"},
            },
            {"name": "fatman_is_crazy", "description": "Whether the job is crazy", "value": 0},
        ]
