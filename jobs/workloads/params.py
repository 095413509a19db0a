"""Small checks shared by the kinds' params validation: every error names `params.<key>`."""

from ..exceptions import JobParamsError


def only_known(params, known: set[str]) -> dict:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise JobParamsError("params must be a JSON object", field="params")
    unknown = sorted(set(params) - known)
    if unknown:
        raise JobParamsError(
            f"unknown param {unknown[0]!r}; "
            + (f"known: {', '.join(sorted(known))}" if known else "this kind takes none"),
            field=f"params.{unknown[0]}",
        )
    return params


def number(params: dict, key: str, default, *, low, high, integer=False):
    value = params.get(key, default)
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        raise JobParamsError(f"{key} must be {'an integer' if integer else 'a number'}", field=f"params.{key}")
    if not low <= value <= high:
        raise JobParamsError(f"{key} must be between {low} and {high}", field=f"params.{key}")
    return value


def flag(params: dict, key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise JobParamsError(f"{key} must be true or false", field=f"params.{key}")
    return value


def choice(params: dict, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = params.get(key, default)
    if value not in choices:
        raise JobParamsError(f"{key} must be one of {', '.join(choices)}", field=f"params.{key}")
    return value
