"""POST /crm/v3/objects/{type}/search over a SearchView: validation, planning, paging."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import JsonDict, validation_error
from .filters import Comparable, CompiledFilter, compile_filter, kind_of, typed
from .properties import PropertyRegistry
from .store import ID_MASK, MAX_MS, RecordVersion, SearchView

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
MAX_LIMIT = 200
MAX_RESULTS = 10_000
_QUERY_FIELDS = ("firstname", "lastname", "email", "phone", "company", "name", "domain", "website")


@dataclass(frozen=True, slots=True)
class SortSpec:
    """One sort rule."""

    name: str
    descending: bool


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A validated search request."""

    groups: list[list[CompiledFilter]]
    sorts: list[SortSpec]
    query: str | None
    limit: int
    after: int


def _as_int(raw: object, what: str) -> int:
    if isinstance(raw, bool):
        raise validation_error(f"{what} must be an integer")
    try:
        return int(str(raw))
    except ValueError:
        raise validation_error(f"{what} must be an integer, got {raw!r}") from None


def parse_sorts(raw: object, *, registry: PropertyRegistry, object_type: str) -> list[SortSpec]:
    """Sorts given as `{propertyName, direction}` dicts or "-name"/"name" strings."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error("sorts must be a list")
    specs: list[SortSpec] = []
    for item in raw:
        if isinstance(item, str):
            name, descending = item.lstrip("-"), item.startswith("-")
        elif isinstance(item, Mapping):
            name = str(item.get("propertyName", ""))
            direction = str(item.get("direction", "ASCENDING")).upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                raise validation_error(f"Invalid sort direction: {item.get('direction')!r}")
            descending = direction == "DESCENDING"
        else:
            raise validation_error(f"Invalid sort: {item!r}")
        if registry.find(object_type, name) is None:
            raise validation_error(f"Cannot sort on unknown property: {name}")
        specs.append(SortSpec(name, descending))
    return specs


def parse_request(
    body: Mapping[str, Any], *, registry: PropertyRegistry, object_type: str
) -> SearchRequest:
    """Validate a search body against HubSpot's limits (400 VALIDATION_ERROR otherwise)."""
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list):
        raise validation_error("filterGroups must be a list")
    if len(raw_groups) > MAX_GROUPS:
        raise validation_error(
            f"Too many filter groups: {len(raw_groups)}. The maximum is {MAX_GROUPS}."
        )
    groups: list[list[CompiledFilter]] = []
    total_filters = 0
    for group in raw_groups:
        raw_filters = group.get("filters") if isinstance(group, Mapping) else None
        if not isinstance(raw_filters, list):
            raise validation_error("Each filter group needs a `filters` list")
        if len(raw_filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(
                f"Too many filters in a group: {len(raw_filters)}. "
                f"The maximum is {MAX_FILTERS_PER_GROUP}."
            )
        total_filters += len(raw_filters)
        compiled: list[CompiledFilter] = []
        for raw in raw_filters:
            if not isinstance(raw, Mapping):
                raise validation_error("Each filter must be an object")
            name = str(raw.get("propertyName", ""))
            definition = registry.find(object_type, name)
            if definition is None:
                raise validation_error(f"Cannot filter on unknown property: {name}")
            compiled.append(compile_filter(raw, definition))
        groups.append(compiled)
    if total_filters > MAX_FILTERS:
        raise validation_error(
            f"Too many filters: {total_filters}. The maximum across all groups is {MAX_FILTERS}."
        )
    limit = _as_int(body.get("limit", 10) if body.get("limit") is not None else 10, "limit")
    if limit < 0 or limit > MAX_LIMIT:
        raise validation_error(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")
    after_raw = body.get("after")
    after = 0 if after_raw in (None, "") else _as_int(after_raw, "after")
    if after < 0:
        raise validation_error("after must not be negative")
    if after + limit > MAX_RESULTS:
        raise validation_error(
            f"Paging past {MAX_RESULTS} results is not supported (after={after}, limit={limit})."
        )
    query = body.get("query")
    return SearchRequest(
        groups=groups,
        sorts=parse_sorts(body.get("sorts"), registry=registry, object_type=object_type),
        query=str(query).lower() if query else None,
        limit=limit,
        after=after,
    )


class SearchEngine:
    """Runs a SearchRequest on a SearchView, using the (lm, id) index when the request allows."""

    def __init__(
        self, *, view: SearchView, registry: PropertyRegistry, object_type: str, lm_property: str
    ) -> None:
        self.view = view
        self.registry = registry
        self.object_type = object_type
        self.lm_property = lm_property

    def run(self, request: SearchRequest) -> tuple[list[RecordVersion], int]:
        """The page of versions and the total number of matches."""
        if len(request.groups) <= 1:
            group = request.groups[0] if request.groups else []
            sorts = request.sorts
            if (
                sorts
                and sorts[0].name == self.lm_property
                and (
                    len(sorts) == 1
                    or (
                        len(sorts) == 2
                        and sorts[1].name == "hs_object_id"
                        and sorts[1].descending == sorts[0].descending
                    )
                )
            ):
                return self._by_lm(request, group, descending=sorts[0].descending)
            if not sorts or (len(sorts) == 1 and sorts[0].name == "hs_object_id"):
                return self._by_id(request, group, descending=bool(sorts and sorts[0].descending))
        return self._scan(request)

    # --- plans ---------------------------------------------------------------------------

    def _split(
        self, request: SearchRequest, group: list[CompiledFilter], ranged: Sequence[str]
    ) -> tuple[dict[str, tuple[int, int]], Callable[[RecordVersion], bool] | None]:
        """Fold range filters on the `ranged` properties into bounds; the rest stay residual."""
        bounds = {name: (-(1 << 62), 1 << 62) for name in ranged}
        residual: list[CompiledFilter] = []
        for item in group:
            got = item.int_bounds() if item.name in bounds else None
            if got is None:
                residual.append(item)
                continue
            lo, hi = bounds[item.name]
            bounds[item.name] = (max(lo, got[0]), min(hi, got[1]))
        if not residual and request.query is None:
            return bounds, None
        query = request.query

        def keep(version: RecordVersion) -> bool:
            props = version.properties
            if query is not None and not _matches_query(props, query):
                return False
            return all(f.predicate(props.get(f.name)) for f in residual)

        return bounds, keep

    def _page(
        self,
        ids: Iterator[int],
        keep: Callable[[RecordVersion], bool] | None,
        request: SearchRequest,
        count: Callable[[], int],
    ) -> tuple[list[RecordVersion], int]:
        visible = self.view.visible
        page: list[RecordVersion] = []
        seen = 0
        end = request.after + request.limit
        for record_id in ids:
            version = visible[record_id]
            if keep is not None and not keep(version):
                continue
            if request.after <= seen < end:
                page.append(version)
            seen += 1
            if seen >= end and keep is None:
                break
        # Without residual filters the total comes from bisect counts, never from a scan.
        return page, (seen if keep is not None else count())

    def _by_lm(
        self, request: SearchRequest, group: list[CompiledFilter], *, descending: bool
    ) -> tuple[list[RecordVersion], int]:
        bounds, keep = self._split(request, group, (self.lm_property, "hs_object_id"))
        lm_lo, lm_hi = bounds[self.lm_property]
        id_lo, id_hi = bounds["hs_object_id"]
        window = {
            "lm_lo": max(lm_lo, 0),
            "lm_hi": min(lm_hi, MAX_MS),
            "id_lo": max(id_lo, 0),
            "id_hi": min(id_hi, ID_MASK),
        }
        ids = self.view.iter_window(descending=descending, **window)
        return self._page(ids, keep, request, lambda: self.view.count_window(**window))

    def _by_id(
        self, request: SearchRequest, group: list[CompiledFilter], *, descending: bool
    ) -> tuple[list[RecordVersion], int]:
        bounds, keep = self._split(request, group, ("hs_object_id",))
        id_lo, id_hi = bounds["hs_object_id"]
        ids_index = self.view.ids
        ids: Iterator[int] = iter(ids_index.irange(id_lo, id_hi, reverse=descending))

        def count() -> int:
            if id_lo > id_hi:
                return 0
            return int(ids_index.bisect_right(id_hi) - ids_index.bisect_left(id_lo))

        return self._page(ids, keep, request, count)

    def _scan(self, request: SearchRequest) -> tuple[list[RecordVersion], int]:
        query = request.query

        def matches(version: RecordVersion) -> bool:
            props = version.properties
            if query is not None and not _matches_query(props, query):
                return False
            if not request.groups:
                return True
            return any(all(f.predicate(props.get(f.name)) for f in g) for g in request.groups)

        found = [v for v in self.view.visible.values() if matches(v)]
        last_descending = request.sorts[-1].descending if request.sorts else False
        found.sort(key=lambda v: v.id, reverse=last_descending)
        for spec in reversed(request.sorts):
            found = self._sorted(found, spec)
        return found[request.after : request.after + request.limit], len(found)

    def _sorted(self, versions: list[RecordVersion], spec: SortSpec) -> list[RecordVersion]:
        kind = kind_of(self.registry.get(self.object_type, spec.name))
        keyed: list[tuple[Comparable, RecordVersion]] = []
        missing: list[RecordVersion] = []
        for version in versions:
            value = typed(kind, version.properties.get(spec.name))
            if value is None:
                missing.append(version)
            else:
                keyed.append((value, version))
        # Stable sort keeps the previous ordering among equal values; absent values go last.
        keyed.sort(key=lambda pair: pair[0], reverse=spec.descending)
        return [v for _, v in keyed] + missing


def _matches_query(props: Mapping[str, str | None], query: str) -> bool:
    return any(query in (props.get(name) or "").lower() for name in _QUERY_FIELDS)


def render(
    *, page: Iterable[RecordVersion], total: int, request: SearchRequest, names: list[str]
) -> JsonDict:
    """The CollectionResponseWithTotal body for a search page."""
    results = [v.to_dict(names) for v in page]
    body: JsonDict = {"total": total, "results": results}
    next_after = request.after + request.limit
    if request.limit and next_after < total:
        body["paging"] = {"next": {"after": str(next_after)}}
    return body
