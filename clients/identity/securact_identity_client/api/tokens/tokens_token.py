from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.tokens_token_body import TokensTokenBody
from ...models.tokens_token_response_200 import TokensTokenResponse200
from ...models.tokens_token_response_400 import TokensTokenResponse400
from ...models.tokens_token_response_401 import TokensTokenResponse401
from ...types import Response


def _get_kwargs(
    *,
    body: TokensTokenBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/oauth/token",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401 | None:
    if response.status_code == 200:
        response_200 = TokensTokenResponse200.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = TokensTokenResponse400.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = TokensTokenResponse401.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = cast(Any, None)
        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: TokensTokenBody,
) -> Response[Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401]:
    """Token

     OAuth2 client credentials grant (RFC 6749 §4.4), HTTP Basic or form client auth.

    Args:
        body (TokensTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: TokensTokenBody,
) -> Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401 | None:
    """Token

     OAuth2 client credentials grant (RFC 6749 §4.4), HTTP Basic or form client auth.

    Args:
        body (TokensTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: TokensTokenBody,
) -> Response[Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401]:
    """Token

     OAuth2 client credentials grant (RFC 6749 §4.4), HTTP Basic or form client auth.

    Args:
        body (TokensTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: TokensTokenBody,
) -> Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401 | None:
    """Token

     OAuth2 client credentials grant (RFC 6749 §4.4), HTTP Basic or form client auth.

    Args:
        body (TokensTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | TokensTokenResponse200 | TokensTokenResponse400 | TokensTokenResponse401
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
