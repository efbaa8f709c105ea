from tests.api.conftest import api, make_client  # noqa: F401  (the JSON client fixtures)
