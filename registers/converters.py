from datetime import date


class IsoDateConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value):
        return date.fromisoformat(value)

    def to_url(self, value):
        return value.isoformat()


class SessionConverter:
    regex = "AM|PM"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value
