#!/usr/bin/env python3
"""Checks the Spackfile (a spack.yaml environment) as far as a machine without Spack can.

Usage: check_spackfile.py [SOURCE_DIR] [--spackfile PATH]

SOURCE_DIR is the root of the tilt source tree (default: two levels above this script); the
Spackfile checked is SOURCE_DIR/Spackfile unless --spackfile names another (used to try the check
on a deliberately broken copy).

What is checked, without Spack:
  1. The file is YAML (duplicate keys rejected) with the structure Spack's environment schema
     requires: a top-level `spack:` mapping whose keys are sections Spack knows; `specs` a list of
     spec strings or matrix mappings; `definitions` a list of one-name mappings with an optional
     `when` string (a Python expression over the variables Spack provides); `view` and
     `concretizer` of the types the schema allows.
  2. Every spec string parses with a small grammar of Spack's spec syntax (name, @versions and
     ranges, +/~ variants, key=value, %compiler, ^dependency).
  3. Every dependency the CMake build looks for (find_package, find_program, find_library, the
     CUDA language) has an entry in DEPENDENCY_TABLE below, and the package that entry names is
     in the Spackfile; every third-party module that python/tilt_analysis imports likewise; every
     package in the Spackfile is accounted for by one of those (no stale entries).
  4. The two variants, obtained by evaluating the `when` clauses with TILT_CUDA unset and with
     TILT_CUDA=1: the CPU variant names no cuda or nccl and builds py-torch~cuda; the CUDA variant
     names cuda and nccl and builds py-torch+cuda+nccl with a cuda_arch, the same on nccl.

Not checked (it needs Spack and the network): that the specs concretise, that the packages and
variants exist in the site's Spack, that anything builds. Exit status 0 with a one-line summary,
or 1 with one line per problem.
"""

import ast
import itertools
import os
import re
import sys
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    print("check_spackfile: FAIL: PyYAML is missing (Debian: apt-get install python3-yaml)")
    sys.exit(1)

# --------------------------------------------------------------------------------------------------
# Spack's environment schema, as far as this check uses it.
#
# The keys allowed under `spack:` are the properties of Spack's env schema
# (lib/spack/spack/schema/env.py: the merged configuration sections of
# lib/spack/spack/schema/merged.py plus the environment-only `specs`, `include_concrete`), which
# sets additionalProperties: false. Listed as of Spack 0.22-1.x; older releases lack some
# (definitions/develop/view moved from env.py into merged.py; env_vars, toolchains are newer).
SPACK_SECTIONS = {
    "bootstrap", "cdash", "ci", "compilers", "concretizer", "config", "container", "definitions",
    "develop", "env_vars", "include", "include_concrete", "mirrors", "modules", "packages",
    "repos", "specs", "toolchains", "upstreams", "view",
}
# Keys older Spack releases accepted and newer ones reject or rewrite.
DEPRECATED_SECTIONS = {
    "concretization": "removed; use `concretizer: {unify: ...}`",
    "gitlab-ci": "deprecated; renamed `ci`",
}
# lib/spack/spack/schema/concretizer.py (additionalProperties: false).
CONCRETIZER_KEYS = {
    "reuse", "enable_node_namespace", "targets", "unify", "duplicates", "splice",
    "static_analysis", "timeout", "error_on_timeout", "os_compatible", "concretization_cache",
    "externals", "compiler_mixing", "force",
}
# Variables Spack binds when it evaluates a definition's `when` (spack.environment's
# _eval_conditional; the definitions schema lists them).
WHEN_VARIABLES = {"platform", "os", "target", "arch", "architecture", "arch_str", "re", "env",
                  "hostname"}

# The variant switch, and what each variant is evaluated with.
SWITCH = "TILT_CUDA"
VARIANTS = {"CPU": {}, "CUDA": {SWITCH: "1"}}

# --------------------------------------------------------------------------------------------------
# Which Spack package provides each thing the build looks for. Keys are what the CMake files ask
# for: ("find_package", <package name>), ("find_program", <result variable>),
# ("find_library", <result variable>), ("language", <language>). Values:
#   spack:    the Spack package names that satisfy it (the first is the one this project names;
#             the others are accepted replacements a site may write instead),
#   variants: "all" (must be in both variants), "cuda" (in the CUDA variant only),
#   optional: True when the build works without it (then the CMake call must not be REQUIRED and
#             the package need not be in the Spackfile; `why` says what is lost),
#   require:  variants the spec must carry (e.g. +mpi),
#   why:      one line for the failure messages.
MPI_PROVIDERS = ["openmpi", "mpich", "mvapich2", "cray-mpich", "intel-oneapi-mpi"]
DEPENDENCY_TABLE = {
    ("find_package", "Torch"): dict(
        spack=["py-torch"], variants="all",
        why="TorchConfig.cmake ships with py-torch (torch.utils.cmake_prefix_path)"),
    ("find_package", "MPI"): dict(spack=MPI_PROVIDERS, variants="all", why="MPI (C bindings)"),
    ("find_package", "HDF5"): dict(
        spack=["hdf5"], variants="all", require=["+mpi"],
        why="HDF5 C library; HDF5_PREFER_PARALLEL asks for the parallel build"),
    ("find_package", "yaml-cpp"): dict(spack=["yaml-cpp"], variants="all", why="config files"),
    ("find_package", "CLI11"): dict(spack=["cli11"], variants="all", why="command line"),
    ("find_package", "nlohmann_json"): dict(spack=["nlohmann-json"], variants="all", why="JSON"),
    ("find_package", "ZLIB"): dict(spack=["zlib", "zlib-ng"], variants="all", why="zlib"),
    ("find_package", "GTest"): dict(spack=["googletest"], variants="all", why="the unit tests"),
    ("find_package", "Git"): dict(
        spack=["git"], optional=True,
        why="cmake/build_info.cmake records the revision; without git it writes 'unknown'"),
    ("find_program", "CCACHE_PROGRAM"): dict(
        spack=["ccache"], optional=True, why="compiler launcher, used only when found"),
    ("find_program", "MPIEXEC_BIN"): dict(
        spack=MPI_PROVIDERS, variants="all", why="mpirun/mpiexec for the distributed tests"),
    ("find_package", "CUDAToolkit"): dict(
        spack=["cuda"], variants="cuda", optional_in_cpu=True,
        why="kernels/: the CUDA runtime for the device kernels (only when nvcc is found)"),
    ("find_library", "TILT_LIBXSMM"): dict(
        spack=["libxsmm"], optional=True,
        why="kernels/bench_gemm_libraries compares the own GEMM with it; tilt does not link it"),
    ("find_library", "TILT_LIBXSMM_NOBLAS"): dict(
        spack=["libxsmm"], optional=True, why="libxsmm's BLAS-free stubs, for the same benchmark"),
    ("find_library", "TILT_ONEDNN"): dict(
        spack=["onednn"], optional=True,
        why="kernels/bench_gemm_libraries compares the own GEMM with it; tilt does not link it"),
    ("language", "CUDA"): dict(
        spack=["cuda"], variants="cuda", optional_in_cpu=True,
        why="nvcc for check_language(CUDA) (optional in CMake; the CUDA variant provides it)"),
}
# Packages the Spackfile names for reasons other than a CMake lookup.
OTHER_PACKAGES = {
    "cmake": dict(variants="all", why="the build system (cmake_minimum_required)"),
    "ninja": dict(variants="all", why="the generator the docs and launch/build.sh use"),
    "python": dict(variants="all", why="runs python/tilt_analysis (`tilt report`)"),
    "nccl": dict(variants="cuda", why="py-torch+nccl; the NCCL communicator seam"),
}
# Third-party modules python/tilt_analysis imports -> the Spack package providing each.
PYTHON_MODULES = {
    "numpy": "py-numpy",
    "pandas": "py-pandas",
    "matplotlib": "py-matplotlib",
    "h5py": "py-h5py",
    "yaml": "py-pyyaml",
}
# Packages the CPU variant must not name, and the CUDA variant must.
CUDA_ONLY = {"cuda", "nccl"}


class Problems:
    def __init__(self):
        self.items = []

    def add(self, message):
        self.items.append(message)


# --------------------------------------------------------------------------------------------------
# YAML with duplicate keys rejected (PyYAML keeps the last one silently; Spack's ruamel loader
# refuses them).
class UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --------------------------------------------------------------------------------------------------
# Spack spec syntax, reduced to what an environment file uses. Token definitions follow Spack's
# spec parser (lib/spack/spack/spec_parser.py); bare values may contain + and ~, as in Spack, so
# "cuda_arch=90+nccl" is one key=value pair (and the variant check then finds +nccl missing).
IDENT = r"[a-zA-Z_0-9][a-zA-Z_0-9\-]*"
PACKAGE = r"[a-z0-9][a-z0-9_\-]*(?:\.[a-z0-9][a-z0-9_\-]*)*"  # Spack package names are lowercase
VERSION = r"=?[a-zA-Z0-9_](?:[a-zA-Z_0-9\-.]*[a-zA-Z0-9_])?"
VERSION_RANGE = rf"(?:(?:{VERSION})?:(?:{VERSION})?)"
VERSION_LIST = rf"(?:{VERSION_RANGE}|{VERSION})(?:\s*,\s*(?:{VERSION_RANGE}|{VERSION}))*"
VALUE = r"(?:[a-zA-Z_0-9\-+*.,:=\~/\\]+|'[^']*'|\"[^\"]*\")"
TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<dep>\^)
  | (?P<compiler>%%?(?:{IDENT}(?:,{IDENT})*=)?)
  | (?P<hash>/[a-zA-Z0-9]+)
  | (?P<version>@(?:{VERSION_LIST}))
  | (?P<bool>(?:\+\+|~~|\+|~){IDENT})
  | (?P<kv>{IDENT}==?{VALUE})
  | (?P<name>{PACKAGE}(?![a-zA-Z_0-9\-.=]))
    """,
    re.VERBOSE,
)


class Node:
    def __init__(self, name):
        self.name = name  # None for an anonymous node (allowed only in matrix constraints)
        self.versions = []
        self.variants = {}  # name -> True/False or "value"

    def __repr__(self):
        return f"Node({self.name!r}, {self.versions}, {self.variants})"


def parse_spec(text):
    """Parses one spec string. Returns (root Node, [dependency Nodes]); raises ValueError."""
    pos, nodes, current = 0, [], None
    expect_node = False  # after ^ or %
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            hint = " (Spack package names are lowercase)" if text[pos].isupper() else ""
            raise ValueError(f"cannot parse at column {pos + 1}: {text[pos:]!r}{hint}")
        kind, value = m.lastgroup, m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind in ("dep", "compiler"):
            if expect_node:
                raise ValueError(f"'{value}' follows '^' or '%' without a package name")
            expect_node = True
            continue
        if kind == "name":
            if current is not None and current.name is None and not nodes:
                raise ValueError(f"package name {value!r} after its attributes")
            if current is not None and not expect_node:
                raise ValueError(f"second package name {value!r} without '^' or '%'")
            current = Node(value)
            nodes.append(current)
            expect_node = False
            continue
        if expect_node:
            raise ValueError(f"'^' or '%' must be followed by a package name, not {value!r}")
        if current is None:  # anonymous spec (a matrix constraint such as "+cuda")
            current = Node(None)
            nodes.append(current)
        if kind == "version":
            current.versions.append(value[1:])
        elif kind == "bool":
            on = value.startswith("+")
            current.variants[value.lstrip("+~")] = on
        elif kind == "kv":
            key, _, val = value.partition("=")
            current.variants[key] = val.lstrip("=").strip("'\"")
        elif kind == "hash":
            pass
    if expect_node:
        raise ValueError("ends with '^' or '%'")
    if not nodes:
        raise ValueError("empty spec")
    for node in nodes:
        for v in node.versions:
            for part in re.split(r"\s*,\s*", v):
                lo, colon, hi = part.partition(":")
                if colon and lo and hi and _version_key(lo) > _version_key(hi):
                    raise ValueError(f"version range {part!r} is empty (lower bound above upper)")
    return nodes[0], nodes[1:]


def _version_key(v):
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-_]", v.lstrip("="))]


# --------------------------------------------------------------------------------------------------
# Structure.
def check_spec_list(where, value, problems):
    """A spec list: strings and {matrix: [[str]], exclude: [str]} mappings."""
    if not isinstance(value, list):
        problems.add(f"{where}: must be a list, not {type(value).__name__}")
        return
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            if not item.strip():
                problems.add(f"{at}: empty spec string")
        elif isinstance(item, dict):
            extra = set(item) - {"matrix", "exclude"}
            if extra:
                problems.add(f"{at}: matrix entry has unknown keys {sorted(extra)}")
            matrix = item.get("matrix")
            if not isinstance(matrix, list) or not matrix or not all(
                    isinstance(row, list) and row and all(isinstance(s, str) for s in row)
                    for row in matrix):
                problems.add(f"{at}: `matrix` must be a non-empty list of non-empty string lists")
            excl = item.get("exclude", [])
            if not isinstance(excl, list) or not all(isinstance(s, str) for s in excl):
                problems.add(f"{at}: `exclude` must be a list of strings")
        else:
            problems.add(f"{at}: must be a spec string or a matrix mapping, not "
                         f"{type(item).__name__} ({item!r})")


def check_when(where, expr, problems):
    if not isinstance(expr, str):
        problems.add(f"{where}: `when` must be a string (a Python expression), not "
                     f"{type(expr).__name__}")
        return
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as e:
        problems.add(f"{where}: `when` is not a Python expression: {e.msg}: {expr!r}")
        return
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    unknown = names - WHEN_VARIABLES
    if unknown:
        problems.add(f"{where}: `when` uses {sorted(unknown)}; Spack provides only "
                     f"{sorted(WHEN_VARIABLES)}")


def check_structure(doc, problems):
    if not isinstance(doc, dict):
        problems.add("the file must be a YAML mapping with a top-level `spack:` key")
        return None
    if set(doc) != {"spack"}:
        problems.add(f"top level must hold exactly the key `spack` (Spack's env schema), found "
                     f"{sorted(map(str, doc))}")
    env = doc.get("spack")
    if not isinstance(env, dict):
        problems.add("`spack:` must be a mapping")
        return None
    for key in env:
        if key in DEPRECATED_SECTIONS:
            problems.add(f"spack.{key}: {DEPRECATED_SECTIONS[key]}")
        elif key not in SPACK_SECTIONS:
            problems.add(f"spack.{key}: not a section of Spack's environment schema "
                         f"(known: {', '.join(sorted(SPACK_SECTIONS))})")
    if "specs" not in env:
        problems.add("spack.specs: missing (the list of root specs)")
    else:
        check_spec_list("spack.specs", env["specs"], problems)
    defs = env.get("definitions", [])
    if not isinstance(defs, list):
        problems.add("spack.definitions: must be a list of mappings")
        defs = []
    for i, item in enumerate(defs):
        at = f"spack.definitions[{i}]"
        if not isinstance(item, dict):
            problems.add(f"{at}: must be a mapping `name: [specs]` with an optional `when`")
            continue
        names = [k for k in item if k != "when"]
        if len(names) != 1:
            problems.add(f"{at}: must define exactly one named list (Spack asserts this), "
                         f"found {names}")
        for name in names:
            if not isinstance(name, str) or not re.fullmatch(r"\w+", name):
                problems.add(f"{at}: list name {name!r} must be a word (letters, digits, _)")
            check_spec_list(f"{at}.{name}", item[name], problems)
        if "when" in item:
            check_when(at, item["when"], problems)
    if "view" in env:
        view = env["view"]
        if isinstance(view, dict):
            for name, desc in view.items():
                if not isinstance(desc, dict) or not isinstance(desc.get("root"), str):
                    problems.add(f"spack.view.{name}: must be a mapping with a string `root`")
                    continue
                extra = set(desc) - {"root", "link", "link_type", "select", "exclude",
                                     "projections", "groups"}
                if extra:
                    problems.add(f"spack.view.{name}: unknown keys {sorted(extra)}")
                if "link" in desc and desc["link"] not in ("roots", "all", "run"):
                    problems.add(f"spack.view.{name}.link: must be roots, all or run")
        elif not isinstance(view, (bool, str)):
            problems.add("spack.view: must be a boolean, a path or a mapping of named views")
    if "concretizer" in env:
        conc = env["concretizer"]
        if not isinstance(conc, dict):
            problems.add("spack.concretizer: must be a mapping")
        else:
            extra = set(conc) - CONCRETIZER_KEYS
            if extra:
                problems.add(f"spack.concretizer: unknown keys {sorted(extra)}")
            if "unify" in conc and conc["unify"] not in (True, False, "when_possible"):
                problems.add("spack.concretizer.unify: must be true, false or when_possible, "
                             f"not {conc['unify']!r}")
            if "reuse" in conc and not (isinstance(conc["reuse"], (bool, dict))
                                        or conc["reuse"] == "dependencies"):
                problems.add("spack.concretizer.reuse: must be a boolean, `dependencies` or a "
                             "mapping")
    if "packages" in env:
        pk = env["packages"]
        if not isinstance(pk, dict) or not all(isinstance(v, dict) for v in pk.values()):
            problems.add("spack.packages: must map package names to mappings")
    for key in ("include", "include_concrete"):
        if key in env and not (isinstance(env[key], list)):
            problems.add(f"spack.{key}: must be a list")
    return env


# --------------------------------------------------------------------------------------------------
# Expansion of definitions and $references, per variant (what Spack's SpecList does).
class _Arch(str):
    def satisfies(self, _constraint):
        raise ValueError("arch.satisfies() cannot be evaluated without Spack")


def eval_when(expr, environ):
    variables = {
        "platform": "linux", "os": "unknown", "target": "x86_64", "arch": _Arch("linux"),
        "architecture": _Arch("linux"), "arch_str": "linux-unknown-x86_64", "re": re,
        "env": dict(environ), "hostname": "localhost", "__builtins__": {},
    }
    return bool(eval(compile(expr, "<when>", "eval"), variables))  # noqa: S307 - the file's own


def expand_item(item, lists, where, problems):
    """One spec-list item -> list of spec strings."""
    if isinstance(item, str):
        ref = re.fullmatch(r"\$(\w+)", item.strip())
        if ref:
            if ref.group(1) not in lists:
                problems.add(f"{where}: ${ref.group(1)} is not defined")
                return []
            return list(lists[ref.group(1)])
        if "$" in item:
            problems.add(f"{where}: a reference must be a whole entry (`$name`): {item!r}")
            return []
        return [item]
    if isinstance(item, dict) and isinstance(item.get("matrix"), list):
        rows = []
        for row in item["matrix"]:
            expanded = []
            for entry in row if isinstance(row, list) else []:
                m = re.fullmatch(r"\$([%^]?)(\w+)", entry.strip()) if isinstance(entry, str) \
                    else None
                if m:
                    if m.group(2) not in lists:
                        problems.add(f"{where}: ${m.group(2)} is not defined")
                        continue
                    expanded += [m.group(1) + s for s in lists[m.group(2)]]
                else:
                    expanded.append(entry)
            rows.append(expanded)
        exclude = set(item.get("exclude", []))
        return [" ".join(combo) for combo in itertools.product(*rows)
                if " ".join(combo) not in exclude]
    return []


def expand(env, environ, variant, problems):
    lists = {}
    for i, item in enumerate(env.get("definitions", []) or []):
        if not isinstance(item, dict):
            continue
        when = item.get("when", "True")
        try:
            active = eval_when(when, environ) if isinstance(when, str) else False
        except Exception as e:  # the message names the clause
            problems.add(f"spack.definitions[{i}]: `when` fails to evaluate ({variant}): {e}")
            continue
        if not active:
            continue
        for name, specs in item.items():
            if name == "when" or not isinstance(specs, list):
                continue
            out = []
            for j, s in enumerate(specs):
                out += expand_item(s, lists, f"spack.definitions[{i}].{name}[{j}] ({variant})",
                                   problems)
            lists.setdefault(name, []).extend(out)
    specs = []
    for i, item in enumerate(env.get("specs", []) or []):
        specs += expand_item(item, lists, f"spack.specs[{i}] ({variant})", problems)
    return specs


# --------------------------------------------------------------------------------------------------
# What the build looks for.
def cmake_files(source):
    """CMakeLists.txt and *.cmake files of the source tree, not of build trees or run outputs."""
    for root, dirs, files in os.walk(source):
        top = Path(root) == source
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d != "__pycache__"
            and not (top and (d.startswith("build") or d in ("runs", "sweeps", "shared")))
            and not (Path(root) / d / "CMakeCache.txt").exists())
        for name in sorted(files):
            if name == "CMakeLists.txt" or name.endswith(".cmake"):
                yield Path(root) / name


def strip_cmake_comments(text):
    out = []
    for line in text.splitlines():
        in_str, cut = False, len(line)
        for k, ch in enumerate(line):
            if ch == '"' and (k == 0 or line[k - 1] != "\\"):
                in_str = not in_str
            elif ch == "#" and not in_str:
                cut = k
                break
        out.append(line[:cut])
    return "\n".join(out)


CALL = re.compile(r"\b(find_package|find_program|find_library|check_language|enable_language)"
                  r"\s*\(([^)]*)\)", re.IGNORECASE)


def cmake_dependencies(source):
    """Returns {(kind, name): {"required": bool, "where": [str], "args": str}}."""
    found = {}
    for path in cmake_files(source):
        text = strip_cmake_comments(path.read_text())
        for m in CALL.finditer(text):
            cmd = m.group(1).lower()
            args = m.group(2).split()
            if not args:
                continue
            line = text.count("\n", 0, m.start()) + 1
            where = f"{path.relative_to(source)}:{line}"
            if cmd in ("check_language", "enable_language"):
                key, required = ("language", args[0]), cmd == "enable_language"
            else:
                key, required = (cmd, args[0]), "REQUIRED" in args
            # Inside an if() block the lookup is conditional (kernels/ enables CUDA only when
            # check_language found nvcc), so it does not make the package required.
            before = text[:m.start()]
            depth = (len(re.findall(r"\bif\s*\(", before, re.IGNORECASE))
                     - len(re.findall(r"\bendif\s*\(", before, re.IGNORECASE)))
            required = required and depth == 0
            entry = found.setdefault(key, {"required": False, "where": [], "args": ""})
            entry["required"] |= required
            entry["where"].append(where)
            entry["args"] = " ".join(args)
        # project(... LANGUAGES ... CUDA) would make CUDA required.
        for m in re.finditer(r"\bproject\s*\(([^)]*)\)", text, re.IGNORECASE):
            if "CUDA" in m.group(1).split():
                found.setdefault(("language", "CUDA"), {"required": True, "where": [],
                                                        "args": ""})["required"] = True
    return found


def python_imports(source):
    """Top-level third-party modules imported by python/tilt_analysis (not its tests)."""
    stdlib = set(getattr(sys, "stdlib_module_names", ())) or {
        "argparse", "ast", "contextlib", "dataclasses", "io", "json", "math", "os", "pathlib",
        "re", "shutil", "subprocess", "sys", "tempfile", "typing", "unittest", "collections",
        "functools", "itertools", "textwrap", "datetime", "statistics", "warnings"}
    found = {}
    pkg = source / "python" / "tilt_analysis"
    for path in sorted(pkg.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top not in stdlib and top != "tilt_analysis" and top != "__future__":
                    found.setdefault(top, []).append(f"{path.relative_to(source)}:{node.lineno}")
    return found


def cmake_minimum(source):
    m = re.search(r"cmake_minimum_required\s*\(\s*VERSION\s+([0-9.]+)",
                  (source / "CMakeLists.txt").read_text(), re.IGNORECASE)
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------------
def main(argv):
    args = [a for a in argv[1:]]
    spackfile = None
    if "--spackfile" in args:
        k = args.index("--spackfile")
        if k + 1 >= len(args):
            print("usage: check_spackfile.py [SOURCE_DIR] [--spackfile PATH]")
            return 1
        spackfile = Path(args[k + 1])
        del args[k:k + 2]
    source = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    spackfile = spackfile or source / "Spackfile"
    problems = Problems()

    try:
        doc = yaml.load(spackfile.read_text(), Loader=UniqueKeyLoader)
    except OSError as e:
        print(f"check_spackfile: FAIL: cannot read {spackfile}: {e}")
        return 1
    except yaml.YAMLError as e:
        print(f"check_spackfile: FAIL: {spackfile} is not valid YAML: {e}")
        return 1

    env = check_structure(doc, problems)
    if env is None:
        return report(spackfile, problems, {})

    # Every spec string as written (definitions and specs), parsed.
    raw = []
    for i, item in enumerate(env.get("definitions", []) or []):
        if isinstance(item, dict):
            for name, specs in item.items():
                if name != "when" and isinstance(specs, list):
                    raw += [(f"spack.definitions[{i}].{name}[{j}]", s) for j, s in enumerate(specs)]
    raw += [(f"spack.specs[{j}]", s) for j, s in enumerate(env.get("specs", []) or [])]
    for where, item in raw:
        strings = [item] if isinstance(item, str) else [
            s for row in (item.get("matrix") or []) if isinstance(row, list) for s in row
        ] if isinstance(item, dict) else []
        for s in strings:
            if not isinstance(s, str) or s.strip().startswith("$"):
                continue
            try:
                parse_spec(s)
            except ValueError as e:
                problems.add(f"{where}: spec {s!r} does not parse: {e}")

    if not any(isinstance(i, dict) and SWITCH in str(i.get("when", ""))
               for i in env.get("definitions", []) or []):
        problems.add(f"spack.definitions: no `when` clause reads {SWITCH}; the CPU and CUDA "
                     "variants must be selected by it")

    # Per variant: the root specs, by package name.
    per_variant = {}
    for variant, environ in VARIANTS.items():
        roots = {}
        for s in expand(env, environ, variant, problems):
            try:
                root, deps = parse_spec(s)
            except ValueError:
                continue  # reported above
            if root.name is None:
                problems.add(f"spec {s!r} ({variant}) has no package name")
                continue
            if root.name in roots:
                problems.add(f"{root.name} is named twice in the {variant} variant")
            roots[root.name] = (root, deps, s)
        per_variant[variant] = roots
        if not roots:
            problems.add(f"the {variant} variant has no specs")

    # What the build looks for, against the table and the file.
    deps = cmake_dependencies(source)
    accounted = set()
    for key, info in sorted(deps.items()):
        kind, name = key
        entry = DEPENDENCY_TABLE.get(key)
        where = ", ".join(info["where"])
        if entry is None:
            problems.add(f"{kind}({name}) at {where} has no entry in DEPENDENCY_TABLE of "
                         f"{Path(__file__).name}: add which Spack package provides it, and name "
                         "that package in the Spackfile")
            continue
        accounted.update(entry["spack"])
        if entry.get("optional"):
            if info["required"]:
                problems.add(f"{kind}({name}) at {where} is REQUIRED but DEPENDENCY_TABLE calls "
                             f"it optional: name {entry['spack'][0]} in the Spackfile and drop "
                             "`optional`")
            continue
        wanted = ["CPU", "CUDA"] if entry["variants"] == "all" else ["CUDA"]
        if entry.get("optional_in_cpu") and info["required"]:
            wanted = ["CPU", "CUDA"]
        for variant in wanted:
            have = [p for p in entry["spack"] if p in per_variant[variant]]
            if not have:
                problems.add(f"{kind}({name}) at {where} ({entry['why']}): the {variant} "
                             f"variant names none of {entry['spack']}")
                continue
            node = per_variant[variant][have[0]][0]
            for req in entry.get("require", []):
                var = req[1:]
                if node.variants.get(var) is not (req[0] == "+"):
                    problems.add(f"{have[0]} ({variant}) must be {req}: {entry['why']}")
    for key in DEPENDENCY_TABLE:
        if key not in deps:
            problems.add(f"DEPENDENCY_TABLE entry {key[0]}({key[1]}) matches no call in the CMake "
                         "files: remove it (and its package from the Spackfile if nothing else "
                         "needs it)")

    imports = python_imports(source)
    for mod, where in sorted(imports.items()):
        pkg = PYTHON_MODULES.get(mod)
        if pkg is None:
            problems.add(f"python/tilt_analysis imports {mod} ({where[0]}) which has no entry in "
                         "PYTHON_MODULES: add its Spack package there and in the Spackfile")
            continue
        accounted.add(pkg)
        for variant in VARIANTS:
            if pkg not in per_variant[variant]:
                problems.add(f"python/tilt_analysis imports {mod} ({where[0]}): the {variant} "
                             f"variant does not name {pkg}")
    for mod, pkg in PYTHON_MODULES.items():
        if mod not in imports:
            problems.add(f"PYTHON_MODULES entry {mod} -> {pkg}: python/tilt_analysis no longer "
                         "imports it; remove the entry (and the package if nothing needs it)")

    for pkg, entry in OTHER_PACKAGES.items():
        accounted.add(pkg)
        if pkg in CUDA_ONLY:
            continue  # the variant checks below report it
        for variant in (["CPU", "CUDA"] if entry["variants"] == "all" else ["CUDA"]):
            if pkg not in per_variant[variant]:
                problems.add(f"the {variant} variant does not name {pkg} ({entry['why']})")

    for variant, roots in per_variant.items():
        for pkg in sorted(set(roots) - accounted):
            problems.add(f"{pkg} ({variant} variant, {roots[pkg][2]!r}) is needed by nothing the "
                         f"build or python/tilt_analysis uses: remove it, or add why to "
                         f"{Path(__file__).name}")

    # cmake's floor against cmake_minimum_required.
    minimum = cmake_minimum(source)
    for variant, roots in per_variant.items():
        if "cmake" in roots and minimum:
            lows = [v.split(":")[0].lstrip("=") for v in roots["cmake"][0].versions]
            if not lows or not lows[0] or _version_key(lows[0]) < _version_key(minimum):
                problems.add(f"cmake ({variant}): the version floor must be at least "
                             f"cmake_minimum_required {minimum} (write \"cmake@{minimum}:\")")

    # The two variants.
    cpu, gpu = per_variant.get("CPU", {}), per_variant.get("CUDA", {})
    for pkg in sorted(CUDA_ONLY & set(cpu)):
        problems.add(f"the CPU variant names {pkg}; it belongs to the CUDA variant only")
    for name, (node, sub, s) in cpu.items():
        for d in sub:
            if d.name in CUDA_ONLY:
                problems.add(f"the CPU variant pulls {d.name} in through {s!r}")
        if node.variants.get("cuda") is True or node.variants.get("nccl") is True:
            problems.add(f"the CPU variant builds {name} with +cuda or +nccl: {s!r}")
        if "cuda_arch" in node.variants:
            problems.add(f"the CPU variant sets cuda_arch on {name}: {s!r}")
    if "py-torch" in cpu and cpu["py-torch"][0].variants.get("cuda") is not False:
        problems.add("the CPU variant must say py-torch~cuda (Spack's py-torch defaults to +cuda "
                     f"on Linux): {cpu['py-torch'][2]!r}")
    for pkg in sorted(CUDA_ONLY - set(gpu)):
        problems.add(f"the CUDA variant does not name {pkg}")
    if "py-torch" in gpu:
        node, _, s = gpu["py-torch"]
        for var in ("cuda", "nccl"):
            if node.variants.get(var) is not True:
                problems.add(f"the CUDA variant must build py-torch+{var}: {s!r}")
        arch = node.variants.get("cuda_arch")
        if not isinstance(arch, str) or not arch or arch == "none":
            problems.add(f"the CUDA variant must give py-torch a cuda_arch (Spack refuses "
                         f"cuda_arch=none with +cuda): {s!r}")
        if "nccl" in gpu:
            narch = gpu["nccl"][0].variants.get("cuda_arch")
            if narch != arch:
                problems.add(f"nccl's cuda_arch ({narch}) must match py-torch's ({arch}); nccl "
                             "refuses cuda_arch=none")

    # py-h5py~mpi would need a serial hdf5 beside the parallel one.
    for variant, roots in per_variant.items():
        if "py-h5py" in roots and roots["py-h5py"][0].variants.get("mpi") is False \
                and "hdf5" in roots and roots["hdf5"][0].variants.get("mpi") is True:
            problems.add(f"py-h5py~mpi with hdf5+mpi ({variant}): unify: true allows one hdf5")

    return report(spackfile, problems, per_variant, len(deps), len(imports))


def report(spackfile, problems, per_variant, n_cmake=0, n_python=0):
    if problems.items:
        print(f"check_spackfile: FAIL: {spackfile}: {len(problems.items)} problem(s)")
        for p in problems.items:
            print(f"  - {p}")
        return 1
    counts = ", ".join(f"{v} {len(r)} specs" for v, r in per_variant.items())
    print(f"check_spackfile: OK: {spackfile}: {counts}; {n_cmake} CMake lookups and {n_python} "
          "Python imports covered (structure and syntax only: never concretised here)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
