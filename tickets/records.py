"""Immutable records for intake's values, made without :mod:`dataclasses`.

``wikibridge mail deliver`` runs once per message.  Importing
:mod:`dataclasses` (which imports :mod:`inspect`, :mod:`ast`, :mod:`dis` …)
and building each class with it (source code generated and compiled per
class) cost that process about a seventh of its time.  A :class:`Record`
subclass behaves as a frozen dataclass does for everything intake and its
callers use: the same ``__init__`` (fields in order, defaults, default
factories), ``==``, ``hash``, ``repr`` and immutability, plus
:meth:`Record.replace` for :func:`dataclasses.replace`.  Type checkers see it
as a dataclass (``dataclass_transform``).

Standard library only, and not even :mod:`typing` at run time.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, Self, dataclass_transform
else:

    def dataclass_transform(**_options: object) -> object:
        """Only type checkers read this decorator."""
        return lambda cls: cls


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()


class _Field:
    """A field's default (a value or a factory) and whether ``repr`` shows it."""

    __slots__ = ("default", "factory", "shown")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, shown: bool) -> None:
        self.default = default
        self.factory = factory
        self.shown = shown


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    repr: bool = True,  # the name dataclasses.field gives it
) -> Any:
    """A field's options, as :func:`dataclasses.field` takes them (those intake uses)."""
    if default is not _MISSING and default_factory is not None:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, repr)


class FrozenRecordError(AttributeError):
    """Assigning to a field of a record (as :class:`dataclasses.FrozenInstanceError`)."""


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Record:
    """Base of an immutable record: its annotated class attributes are its fields, in order.

    A field's default is its class attribute's value, or :func:`field`'s
    ``default`` or ``default_factory`` (called for each new record).
    """

    __slots__ = ()

    #: The field names, in order.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Fields with a default, by name.
    _defaults: ClassVar[dict[str, _Field]] = {}
    #: The fields ``repr`` shows.
    _shown: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__mro__[1] is not Record:
            raise TypeError(f"{cls.__qualname__}: a record derives from Record alone")
        defaults: dict[str, _Field] = {}
        hidden = set()
        # With ``from __future__ import annotations`` every annotation is its
        # source text: nothing is evaluated, so nothing more is imported
        # (inspect.get_annotations would import what this module avoids).
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        names = tuple(
            name
            for name, annotation in own.items()
            if not str(annotation).startswith(("ClassVar", "typing.ClassVar"))
        )
        for name in names:
            value = cls.__dict__.get(name, _MISSING)
            if isinstance(value, _Field):
                spec = value
                if spec.default is _MISSING:
                    delattr(cls, name)  # as dataclasses: no class attribute without a default
                else:
                    setattr(cls, name, spec.default)
            elif value is not _MISSING:
                spec = _Field(value, None, True)
            else:
                if defaults:
                    raise TypeError(f"non-default argument {name!r} follows default argument")
                continue
            if spec.default is not _MISSING or spec.factory is not None:
                defaults[name] = spec
            elif defaults:
                raise TypeError(f"non-default argument {name!r} follows default argument")
            if not spec.shown:
                hidden.add(name)
        cls._fields = names
        cls._defaults = defaults
        cls._shown = tuple(name for name in names if name not in hidden)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        name = type(self).__qualname__
        if len(args) > len(fields):
            raise TypeError(
                f"{name}.__init__() takes {len(fields) + 1} positional arguments "
                f"but {len(args) + 1} were given"
            )
        values = dict(zip(fields, args, strict=False))
        for key, value in kwargs.items():
            if key not in fields:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{name}.__init__() got multiple values for argument {key!r}")
            values[key] = value
        for field_name in fields:
            if field_name not in values:
                spec = self._defaults.get(field_name)
                if spec is None:
                    raise TypeError(
                        f"{name}.__init__() missing 1 required positional argument: {field_name!r}"
                    )
                values[field_name] = spec.factory() if spec.factory is not None else spec.default
            object.__setattr__(self, field_name, values[field_name])

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__qualname__}({shown})"

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (as :func:`dataclasses.replace`)."""
        for key in changes:
            if key not in self._fields:
                raise TypeError(f"{type(self).__qualname__} has no field {key!r}")
        return type(self)(**{name: getattr(self, name) for name in self._fields} | changes)

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in order (not copied: see :func:`dataclasses.asdict`)."""
        return {name: getattr(self, name) for name in self._fields}
