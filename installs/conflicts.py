"""Direct conflict detection: specs that no version satisfies together.

Each report names every clashing spec and where it came from: a skill, the
platform constraints, or an installed environment. Transitive conflicts are
the resolver's business (``installs.resolver``).
"""

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass

from installs.models import Conflict, Ecosystem
from installs.requirements import npm, python

logger = logging.getLogger(__name__)

PLATFORM = "platform constraints"
Kind = Conflict.Kind

_ECOSYSTEM_LABEL = {Ecosystem.PYTHON: "Python package", Ecosystem.NPM: "npm package"}
_HINTS = {
    Kind.WITHIN_SKILL: "Fix the skill's manifest so that its specs on this package agree.",
    Kind.ACROSS_BATCH: (
        "Install these skills in isolated mode, or align their specs on this package."
    ),
    Kind.PLATFORM: (
        "The platform pins this package: change the skill's spec to accept the "
        "platform's range, or change the platform constraints."
    ),
    Kind.ENVIRONMENT: (
        "Install the skill into its own environment, or align its spec with the "
        "installed version."
    ),
}


@dataclass(frozen=True)
class SpecRef:
    """One spec and where it came from."""

    spec: str
    source: str

    def describe(self):
        if self.source == PLATFORM or self.source.startswith("installed"):
            return f"'{self.spec}' ({self.source})"
        return f"'{self.spec}' (skill '{self.source}')"


@dataclass(frozen=True)
class ConflictReport:
    """Specs on one package that no version can satisfy together."""

    ecosystem: str
    package: str
    kind: str
    specs: tuple
    message: str

    @property
    def skill_ids(self):
        return sorted(
            {ref.source for ref in self.specs}
            - {PLATFORM}
            - {ref.source for ref in self.specs if ref.source.startswith("installed")}
        )

    def as_dict(self):
        return {
            "ecosystem": self.ecosystem,
            "package": self.package,
            "kind": self.kind,
            "specs": [asdict(ref) for ref in self.specs],
            "message": self.message,
        }


@dataclass(frozen=True)
class Environment:
    """Resolved versions of an installed environment, to check new specs on."""

    label: str
    python: dict
    npm: dict


def _report(ecosystem, package, kind, refs):
    causes = ", ".join(ref.describe() for ref in refs)
    message = (
        f"{_ECOSYSTEM_LABEL[ecosystem]} '{package}': no version satisfies all of "
        f"{causes}. {_HINTS[kind]}"
    )
    return ConflictReport(ecosystem, package, kind, tuple(refs), message)


class _Ecosystem:
    """What conflict detection needs to know of one ecosystem."""

    def __init__(self, key, spec_of, text_of, find_clash, satisfies):
        self.key = key
        self.spec_of = spec_of
        self.text_of = text_of
        self.find_clash = find_clash
        self.satisfies = satisfies


_PYTHON = _Ecosystem(
    Ecosystem.PYTHON,
    spec_of=lambda req: str(req.specifier),
    text_of=lambda req: req.text,
    find_clash=python.find_clash,
    satisfies=lambda version, req: req.specifier.contains(version, prereleases=True),
)
_NPM = _Ecosystem(
    Ecosystem.NPM,
    spec_of=lambda dep: dep.spec,
    text_of=lambda dep: dep.text,
    find_clash=npm.find_clash,
    satisfies=lambda version, dep: npm.satisfies(version, dep.spec),
)


def _clash(eco, entries):
    """Return the entries of a minimal clashing subset, or None."""
    # Equal specs decide nothing new; check each distinct spec once.
    distinct = list(dict.fromkeys(eco.spec_of(entry) for entry in entries))
    core = eco.find_clash(distinct) if len(distinct) > 1 else None
    if core is None:
        return None
    clashing = {distinct[index] for index in core}
    return [entry for entry in entries if eco.spec_of(entry) in clashing]


def _refs(eco, entries):
    return list(dict.fromkeys(SpecRef(eco.text_of(e), e.source) for e in entries))


def _check_ecosystem(eco, skills, *, shared, constraints, environment):
    reports = []
    by_constraint = defaultdict(list)
    for entry in constraints:
        by_constraint[entry.name].append(entry)
    pooled = defaultdict(list)
    reported = set()

    for skill_id, entries in skills:
        by_package = defaultdict(list)
        for entry in entries:
            by_package[entry.name].append(entry)

        for package, own in by_package.items():
            pooled[package].extend(own)
            clashing = _clash(eco, own)
            if clashing:
                reports.append(
                    _report(eco.key, package, Kind.WITHIN_SKILL, _refs(eco, clashing))
                )
                reported.add(package)
                continue
            if package in by_constraint:
                clashing = _clash(eco, own + by_constraint[package])
                if clashing:
                    reports.append(
                        _report(eco.key, package, Kind.PLATFORM, _refs(eco, clashing))
                    )
                    if shared:
                        reported.add(package)
                    continue
            if environment is not None:
                version = getattr(environment, eco.key).get(package)
                refused = [e for e in own if version and not eco.satisfies(version, e)]
                if refused:
                    installed = SpecRef(
                        f"{package}=={version}", f"installed: {environment.label}"
                    )
                    refs = _refs(eco, refused) + [installed]
                    reports.append(_report(eco.key, package, Kind.ENVIRONMENT, refs))

    if shared:
        for package, entries in pooled.items():
            if package in reported or len({e.source for e in entries}) < 2:
                continue
            clashing = _clash(eco, entries + by_constraint.get(package, []))
            if clashing:
                reports.append(
                    _report(eco.key, package, Kind.ACROSS_BATCH, _refs(eco, clashing))
                )
    return reports


def find_conflicts(
    skills,
    *,
    shared=False,
    python_constraints=(),
    npm_constraints=(),
    environment=None,
    target=None,
):
    """Return a ConflictReport for every direct conflict among ``skills``.

    ``skills`` are SkillManifests. Each is checked on its own and against the
    platform constraints (and an installed ``environment`` if given); with
    ``shared`` they are also checked as one environment. Python requirements
    whose marker is false for ``target`` take no part.
    """
    target = target or python.target_environment()
    python_skills = [
        (skill.id, [req for req in skill.python if python.applies(req, target)])
        for skill in skills
    ]
    npm_skills = [(skill.id, list(skill.npm)) for skill in skills]
    python_constraints = [
        req for req in python_constraints if python.applies(req, target)
    ]

    reports = _check_ecosystem(
        _PYTHON,
        python_skills,
        shared=shared,
        constraints=python_constraints,
        environment=environment,
    )
    reports += _check_ecosystem(
        _NPM,
        npm_skills,
        shared=shared,
        constraints=list(npm_constraints),
        environment=environment,
    )
    logger.debug(
        "checked skills=%s shared=%s conflicts=%s", len(skills), shared, len(reports)
    )
    return reports


def platform_constraints(*, python_path=None, npm_path=None):
    """Read the platform's constraints files: (python list, npm list).

    Paths default to SKILLINSTALL_PYTHON_CONSTRAINTS and
    SKILLINSTALL_NPM_CONSTRAINTS; an unset path means no constraints.
    """
    from django.conf import settings

    from installs.exceptions import ConfigurationError

    python_path = python_path or settings.SKILLINSTALL_PYTHON_CONSTRAINTS
    npm_path = npm_path or settings.SKILLINSTALL_NPM_CONSTRAINTS
    loaded = []
    for path, parse in (
        (python_path, python.parse_constraints),
        (npm_path, npm.parse_constraints),
    ):
        if not path:
            loaded.append([])
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise ConfigurationError(
                f"Constraints file {path} cannot be read: {exc.strerror}."
            ) from exc
        loaded.append(parse(text, source=PLATFORM))
    return tuple(loaded)
