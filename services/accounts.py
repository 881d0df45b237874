"""Accounts, users and access tokens: sign-up, log-in, and who a bearer token is."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError

from models.accounts import AccessToken, Account, User
from services.access import ROLE_RANK, TOKEN_SCOPES, Actor, Permission, Role
from services.catalog import create_default_price_types
from services.db import get_owned, transaction
from services.errors import InvalidInput, ProblemList, Unauthenticated
from services.validation import clean_text, is_email, normalise_email

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

SESSION = "SESSION"
API = "API"
SESSION_PREFIX = "bos_"
API_PREFIX = "boa_"
MIN_PASSWORD = 8
MAX_PASSWORD = 256
WRONG_LOGIN = "the email or the password is wrong"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: AccessToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_credentials(problems: ProblemList, email: str, password: str) -> str:
    email = normalise_email(email or "")
    if not email:
        problems.add(["email"], "REQUIRED", "email must not be empty")
    elif len(email) > 254 or not is_email(email):
        problems.add(["email"], "INVALID_EMAIL", "this is not an email address")
    if len(password or "") < MIN_PASSWORD:
        problems.add(["password"], "TOO_SHORT", f"a password has at least {MIN_PASSWORD} characters")
    elif len(password) > MAX_PASSWORD:
        problems.add(["password"], "TOO_LONG", f"a password has at most {MAX_PASSWORD} characters")
    return email


async def _issue_token(
    user: User, kind: str, *, name: str = "", scopes: list[str] | None = None, hours: int | None = None
) -> IssuedToken:
    prefix = SESSION_PREFIX if kind == SESSION else API_PREFIX
    token = prefix + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=hours) if hours else None
    record = await AccessToken.create(
        account_id=user.account_id,
        user=user,
        kind=kind,
        name=name,
        token_hash=hash_token(token),
        scopes=scopes or [],
        expires_at=expires,
    )
    return IssuedToken(token, record)


async def sign_up(
    *, company_name: str, email: str, password: str, currency: str, timezone: str, session_hours: int
) -> tuple[IssuedToken, User, Account]:
    problems = ProblemList()
    name = clean_text(problems, company_name, ["companyName"], max_length=200, required=True)
    email = _check_credentials(problems, email, password)
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.add(["currency"], "INVALID", "currency is a three-letter ISO 4217 code")
    timezone = _check_timezone(problems, timezone)
    problems.raise_if_any()
    password_hash = await _hash_password(password)
    try:
        async with transaction():
            account = await Account.create(name=name, currency=currency, timezone=timezone)
            user = await User.create(
                account=account, email=email, name=name, password_hash=password_hash, role=Role.OWNER
            )
            await create_default_price_types(account.id)
            issued = await _issue_token(user, SESSION, hours=session_hours)
    except IntegrityError as exc:
        raise InvalidInput.one(["email"], "EMAIL_TAKEN", "this email is already registered") from exc
    return issued, user, account


def _check_timezone(problems: ProblemList, timezone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    timezone = (timezone or "").strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(["timezone"], "INVALID", "timezone is an IANA zone name such as Europe/Moscow")
    return timezone


async def log_in(*, email: str, password: str, session_hours: int) -> tuple[IssuedToken, User, Account]:
    """A session for the user; the same error whether the email is unknown or the password wrong."""
    user = await User.filter(email=normalise_email(email or "")).first()
    matches = await _password_matches(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not matches or not user.is_active:
        raise InvalidInput.one(None, "INVALID_CREDENTIALS", WRONG_LOGIN)
    issued = await _issue_token(user, SESSION, hours=session_hours)
    account = await Account.get(id=user.account_id)
    return issued, user, account


async def authenticate(token: str) -> Actor:
    """The actor a bearer token stands for; raises Unauthenticated if it is unknown, revoked or expired."""
    record = await AccessToken.filter(token_hash=hash_token(token)).select_related("user").first()
    if record is None or record.revoked_at is not None:
        raise Unauthenticated("the token is not valid or has been revoked")
    if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
        raise Unauthenticated("the token has expired")
    user: User = record.user
    if not user.is_active:
        raise Unauthenticated("the user has been deactivated")
    if record.kind == API:
        return Actor(
            account_id=record.account_id,
            user_id=user.id,
            role=None,
            permissions=frozenset(Permission(s) for s in record.scopes),
            token_id=record.id,
            is_api_token=True,
        )
    actor = Actor.for_user(record.account_id, user.id, Role(user.role))
    return Actor(actor.account_id, actor.user_id, actor.role, actor.permissions, token_id=record.id)


async def get_account(actor: Actor) -> Account:
    return await Account.get(id=actor.account_id)


async def get_user(actor: Actor, user_id: object) -> User:
    actor.require(Permission.USERS_MANAGE)
    return await get_owned(User, actor, user_id, field=["id"], what="user")


async def current_user(actor: Actor) -> User | None:
    if actor.user_id is None:
        return None
    return await User.filter(id=actor.user_id, account_id=actor.account_id).first()


async def create_user(actor: Actor, *, email: str, name: str, password: str, role: str) -> User:
    actor.require(Permission.USERS_MANAGE)
    problems = ProblemList()
    email = _check_credentials(problems, email, password)
    name = clean_text(problems, name, ["name"], max_length=200)
    new_role = Role(role)
    if actor.role is not None and ROLE_RANK[new_role] > ROLE_RANK[actor.role]:
        problems.add(["role"], "ROLE_TOO_HIGH", f"a {actor.role.value} cannot create a {new_role.value}")
    problems.raise_if_any()
    password_hash = await _hash_password(password)
    try:
        async with transaction():
            return await User.create(
                account_id=actor.account_id,
                email=email,
                name=name,
                password_hash=password_hash,
                role=new_role,
            )
    except IntegrityError as exc:
        raise InvalidInput.one(["email"], "EMAIL_TAKEN", "this email is already registered") from exc


async def list_users(actor: Actor) -> list[User]:
    actor.require(Permission.USERS_MANAGE)
    return await User.filter(account_id=actor.account_id).order_by("created_at", "id")


async def deactivate_user(actor: Actor, user_id: object) -> User:
    """Deactivating a user ends every session and token of theirs at once."""
    actor.require(Permission.USERS_MANAGE)
    async with transaction():
        user = await get_owned(User, actor, user_id, field=["userId"], what="user", for_update=True)
        if user.id == actor.user_id:
            raise InvalidInput.one(["userId"], "SELF", "you cannot deactivate yourself")
        if user.role == Role.OWNER and actor.role != Role.OWNER:
            raise InvalidInput.one(["userId"], "ROLE_TOO_HIGH", "only an owner can deactivate an owner")
        user.is_active = False
        await user.save(update_fields=["is_active"])
        await AccessToken.filter(account_id=actor.account_id, user_id=user.id, revoked_at=None).update(
            revoked_at=datetime.now(UTC)
        )
    return user


async def create_api_token(actor: Actor, *, name: str, scopes: list[str]) -> IssuedToken:
    actor.require(Permission.TOKENS_MANAGE)
    problems = ProblemList()
    name = clean_text(problems, name, ["name"], max_length=200, required=True)
    wanted = list(dict.fromkeys(scopes))
    if not wanted:
        problems.add(["scopes"], "REQUIRED", "a token needs at least one scope")
    for index, scope in enumerate(wanted):
        if Permission(scope) not in TOKEN_SCOPES:
            problems.add(["scopes", str(index)], "INVALID_SCOPE", f"{scope} cannot be given to a token")
    problems.raise_if_any()
    user = await User.get(id=actor.user_id, account_id=actor.account_id)
    async with transaction():
        return await _issue_token(user, API, name=name, scopes=wanted)


async def list_api_tokens(actor: Actor) -> list[AccessToken]:
    actor.require(Permission.TOKENS_MANAGE)
    return await AccessToken.filter(account_id=actor.account_id, kind=API).order_by("created_at", "id")


async def revoke_api_token(actor: Actor, token_id: object) -> AccessToken:
    actor.require(Permission.TOKENS_MANAGE)
    async with transaction():
        record = await get_owned(
            AccessToken, actor, token_id, field=["tokenId"], what="token", for_update=True
        )
        if record.kind != API:
            from services.errors import NotFound

            raise NotFound(["tokenId"], "token")
        if record.revoked_at is None:
            record.revoked_at = datetime.now(UTC)
            await record.save(update_fields=["revoked_at"])
    return record


async def log_out(actor: Actor) -> None:
    """Ends the session the actor called with."""
    if actor.token_id is None or actor.is_api_token:
        return
    await AccessToken.filter(id=actor.token_id, account_id=actor.account_id).update(
        revoked_at=datetime.now(UTC)
    )


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()
