"""The trivial authenticated endpoint the gateway is measured against: FastAPI, token verified like every service."""
from fastapi import FastAPI

from common.auth import PrincipalDep, TokenVerifier
from common.problems import install_problem_handlers
from common.settings import ProcessSettings


def create_app() -> FastAPI:
    """GET /ping behind the same token check as the services."""
    settings = ProcessSettings(_env_prefix="PING_")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    install_problem_handlers(app)
    app.state.verifier = TokenVerifier(settings.jwt_secret.get_secret_value(), settings.jwt_issuer,
                                       settings.jwt_audience)

    @app.get("/ping")
    async def ping(principal: PrincipalDep) -> dict:
        """pong, to whoever asked."""
        return {"pong": principal.subject}

    return app


def create_bare_app() -> FastAPI:
    """GET /ping and nothing else: the issue's reference point for this kind of machine (no token, no middleware)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/ping")
    async def ping() -> dict:
        """pong."""
        return {"pong": True}

    return app
