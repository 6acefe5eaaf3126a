"""Jinja2 templates, as FastAPI has them: ``Jinja2Templates(directory="templates")`` and
``templates.TemplateResponse(request, "item.html", {"id": id})``. Needs ``jinja2`` (the
``templates`` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

from .responses import HTMLResponse

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping, Sequence

    import jinja2

    from .requests import Request

__all__ = ["Jinja2Templates"]


@final
class Jinja2Templates:
    """Render Jinja2 templates into HTML responses.

    Every template gets ``request`` and ``url_for`` (``{{ url_for('static', path='/app.css')
    }}``, ``{{ url_for('read_item', id=id) }}``: the route's or mount's full URL, through
    ``request.url_for``), plus what the ``context_processors`` return for the request. Templates
    are autoescaped (``.html``, ``.htm``, ``.xml``, as Jinja2's ``select_autoescape``).

    Args:
        directory: The folder (or folders) of the templates; or give ``env``.
        context_processors: Functions of the request returning more context for every
            template.
        env: A Jinja2 ``Environment`` of your own, instead of ``directory``.
        **env_options: More options for the Jinja2 ``Environment`` made from ``directory``.

    Raises:
        ImportError: ``jinja2`` is not installed.
        ValueError: neither or both of ``directory`` and ``env`` were given.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        *,
        context_processors: Sequence[Callable[[Request], dict[str, Any]]] | None = None,
        env: jinja2.Environment | None = None,
        **env_options: Any,
    ) -> None:
        try:
            import jinja2
        except ImportError as exc:  # pragma: no cover - the extra is a test dependency
            raise ImportError(
                "Jinja2Templates needs jinja2: pip install 'fastrapi-trio[templates]'"
            ) from exc
        if (directory is None) == (env is None):
            raise ValueError("give Jinja2Templates a directory or an env, not both nor neither")
        if env is None:
            env_options.setdefault("loader", jinja2.FileSystemLoader(directory))  # type: ignore[arg-type]  # checked above: not None
            env_options.setdefault("autoescape", jinja2.select_autoescape())
            env = jinja2.Environment(**env_options)
        env.globals.setdefault("url_for", jinja2.pass_context(_url_for))
        self.env = env
        self.context_processors = list(context_processors or ())

    def get_template(self, name: str) -> jinja2.Template:
        """The template ``name``.

        Raises:
            jinja2.TemplateNotFound: there is none.
        """
        return self.env.get_template(name)

    def TemplateResponse(  # FastAPI's (and Starlette's) name
        self,
        request: Request | str,
        name: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> HTMLResponse:
        """Render ``name`` with ``context`` (plus ``request``) into an HTML response.

        The older form, ``TemplateResponse("item.html", {"request": request, ...})``, works too.

        Raises:
            ValueError: the older form without a ``request`` in its context.
            jinja2.TemplateNotFound: there is no template ``name``.
        """
        if isinstance(request, str):  # TemplateResponse(name, context)
            given = dict(name or {}) if not isinstance(name, str) else {}
            template_name = request
            if "request" not in given:
                raise ValueError('TemplateResponse(name, context) needs "request" in context')
            found: Request = given["request"]
        else:
            if not isinstance(name, str):
                raise ValueError("TemplateResponse(request, name, context): name is a str")
            template_name = name
            given = dict(context or {})
            found = request
            given.setdefault("request", request)
        for processor in self.context_processors:
            given.update(processor(found))
        html = self.get_template(template_name).render(given)
        return HTMLResponse(html, status_code, headers, media_type)


def _url_for(context: Mapping[str, Any], name: str, /, **path_params: object) -> str:
    request = context["request"]
    return str(request.url_for(name, **path_params))
