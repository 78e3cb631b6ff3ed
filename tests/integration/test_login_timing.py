"""Issue 12 item 7: an unknown or inactive username costs the same argon2 verification as a wrong
password, against a hash of the configured cost, so timing does not tell which usernames exist (the
timing itself is measured in benchmarks/login_timing.py, not asserted here)."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from services.accounts import users
from services.bootstrap import Services


class CountingHasher(PasswordHasher):
    """A real argon2 hasher that records the hashes it verified against."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


def test_unknown_and_inactive_users_cost_one_verification(services: Services) -> None:
    hasher = CountingHasher(time_cost=2, memory_cost=256)
    with services.uow() as uow:
        users.create_user(uow.session, hasher=services.password_hasher, username="bureau", display_name="复审员",
                          role="bureau", password="smeflow-demo")
        assert users.authenticate(uow.session, hasher=hasher, username="nobody", password="whatever-1") is None
        assert len(hasher.verified) == 1
        params = extract_parameters(hasher.verified[0])
        assert (params.time_cost, params.memory_cost) == (2, 256)  # the configured cost, not a cheap one
        bureau = users.get_user(uow.session, "bureau")
        bureau.active = False
        assert users.authenticate(uow.session, hasher=hasher, username="bureau", password="smeflow-demo") is None
        assert len(hasher.verified) == 2
        bureau.active = True
        assert users.authenticate(uow.session, hasher=hasher, username="bureau", password="smeflow-demo") is bureau
