"""``ExternalCommand``: run a program that prints a token (``admin.command`` / ``UNION_AUTH_COMMAND``).

The command runs without a shell, with no stdin, under a timeout. Its standard output's last non-empty line
is the token; the output is never shown, even when the command fails (only its exit status and the last
line of its standard error are). The token is kept in memory for this process and the command runs again
after a 401, since its lifetime is unknown.
"""

from __future__ import annotations

import subprocess
from typing import Any

from union.auth.base import Authenticator, Token
from union.errors import ConfigError, UnauthenticatedError

DEFAULT_TIMEOUT = 60.0


class CommandAuthenticator(Authenticator):
    """Runs ``config.command`` for each new token."""

    kind = "ExternalCommand"

    def __init__(self, config: Any, *, command_timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        if not config.command:
            raise ConfigError(
                "auth_type is ExternalCommand but no command is set. Set admin.command in the config file "
                "(a list: program and arguments) or UNION_AUTH_COMMAND."
            )
        self.command = tuple(config.command)
        self.command_timeout = command_timeout

    def _fetch(self) -> Token:
        program = self.command[0]  # arguments may carry secrets: only the program is ever named
        fix = "Fix the auth command (admin.command / UNION_AUTH_COMMAND) or use another auth_type."
        try:
            done = subprocess.run(
                self.command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.command_timeout,
                check=False,
            )
        except FileNotFoundError:
            raise UnauthenticatedError(f"the auth command {program!r} was not found. {fix}") from None
        except PermissionError:
            raise UnauthenticatedError(f"the auth command {program!r} is not executable. {fix}") from None
        except subprocess.TimeoutExpired:
            raise UnauthenticatedError(
                f"the auth command {program!r} did not finish within {self.command_timeout:g} s. {fix}"
            ) from None
        if done.returncode != 0:
            lines = [ln.strip() for ln in done.stderr.decode(errors="replace").splitlines() if ln.strip()]
            said = f": {lines[-1][:200]}" if lines else ""
            raise UnauthenticatedError(
                f"the auth command {program!r} exited with status {done.returncode}{said}. {fix}"
            )
        lines = [ln.strip() for ln in done.stdout.decode(errors="replace").splitlines() if ln.strip()]
        if not lines:
            raise UnauthenticatedError(f"the auth command {program!r} printed no token. {fix}")
        token = lines[-1]
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        return Token(access_token=token, obtained_at=self.clock())
