def greeting() -> str:
    return "hello from version 1"
