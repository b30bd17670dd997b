"""Role questions about a member of staff, answered from one read of their groups.

The back-office chrome asks many of them per page (each app's menu item, the views'
permission checks): the group names are read once per user object, that is once per
request, since the authentication middleware loads the user anew for every request.
"""

from __future__ import annotations

from typing import Any

_CACHE_ATTRIBUTE = "_guichet_group_names"


def group_names(user: Any) -> frozenset[str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    names = getattr(user, _CACHE_ATTRIBUTE, None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _CACHE_ATTRIBUTE, names)
    return names


def in_group(user: Any, name: str) -> bool:
    return name in group_names(user)


def forget_groups(user: Any) -> None:
    """After changing a user's groups in the same request (or test)."""
    user.__dict__.pop(_CACHE_ATTRIBUTE, None)
