"""Request and response models of the gateway's own endpoints."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from common.auth import ROLES

Role = Literal["applicant", "district_officer", "city_officer", "auditor", "expert", "finance_officer", "admin"]
assert set(Role.__args__) | {"service"} == set(ROLES)


class TokenPair(BaseModel):
    """Tokens issued by the OAuth2 password or refresh grant."""

    access_token: str = Field(description="Bearer token for every API call")
    token_type: Literal["bearer"] = Field(description="Always `bearer`")
    expires_in: int = Field(description="Seconds the access token stays valid")
    refresh_token: str = Field(description="Exchange it at /auth/token (grant_type=refresh_token) for new tokens")
    role: str = Field(description="Role carried by the tokens")


class UserCreate(BaseModel):
    """A new account."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", description="Login name")
    password: SecretStr = Field(min_length=10, max_length=200, description="At least 10 characters")
    role: Role = Field(description="What the account may do")
    unit_uscc: str | None = Field(default=None, min_length=18, max_length=18,
                                  description="统一社会信用代码: the unit an applicant acts for")
    district_code: str | None = Field(default=None, pattern=r"^\d{6}$",
                                      description="区划代码: the district a district officer reviews")

    model_config = {"json_schema_extra": {"examples": [
        {"username": "acme-applicant", "password": "correct horse battery", "role": "applicant",
         "unit_uscc": "91210202MA0QXXXXXX"}]}}


class UserUpdate(BaseModel):
    """Changes to an account; absent fields stay as they are."""

    password: SecretStr | None = Field(default=None, min_length=10, max_length=200, description="New password")
    role: Role | None = Field(default=None, description="New role")
    unit_uscc: str | None = Field(default=None, min_length=18, max_length=18, description="New unit binding")
    district_code: str | None = Field(default=None, pattern=r"^\d{6}$", description="New district binding")
    active: bool | None = Field(default=None, description="false: the account can no longer obtain tokens")


class UserRead(BaseModel):
    """An account, without its password."""

    username: str = Field(description="Login name")
    role: str = Field(description="What the account may do")
    unit_uscc: str | None = Field(description="统一社会信用代码 of the unit an applicant acts for")
    district_code: str | None = Field(description="区划代码 of the district a district officer reviews")
    active: bool = Field(description="Whether the account can obtain tokens")
    created_at: datetime = Field(description="When the account was made")
    updated_at: datetime = Field(description="When it last changed")
