"""The `equiv`, `eval`, `template` and `lr` commands (`check` is in grade.py): argument handling, output and exit codes."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from fractions import Fraction

import sympy as sp

from chainrule.check.answer_key import answer_key
from chainrule.check.answers import answer_keys
from chainrule.check.notation import canonical_names, parse
from chainrule.check.proofs import decide
from chainrule.check.tokens import NotationError
from chainrule.cli.codes import EXIT_FAILED, EXIT_OK, EXIT_UNKNOWN
from chainrule.cli.spec_input import load_spec
from chainrule.core import certify
from chainrule.core.proof import Verdict
from chainrule.core.spec import resolve_path
from chainrule.core.spec_reader import load
from chainrule.deadline import TimeLimit, time_limit
from chainrule.errors import ChainruleError
from chainrule.numbers import decimal, exact, significant_text

EQUIV_WORDS = {Verdict.PROVED: "equivalent", Verdict.REFUTED: "not equivalent", Verdict.UNKNOWN: "unknown"}
EQUIV_EXIT = {Verdict.PROVED: EXIT_OK, Verdict.REFUTED: EXIT_FAILED, Verdict.UNKNOWN: EXIT_UNKNOWN}
DIGITS_SECONDS = 10.0  # `eval --digits`: time to certify the digits before saying they are undecided


def _expression(text: str, label: str, vocabulary) -> sp.Expr:
    try:
        return parse(text, vocabulary)
    except NotationError as error:
        raise ChainruleError(f"{label}: {error}") from None


def equiv(args) -> int:
    key = answer_key(args.spec)
    a, b = _expression(args.a, "A", key.vocabulary), _expression(args.b, "B", key.vocabulary)
    local = (_expression(args.a, "A", key.local), _expression(args.b, "B", key.local))
    deadline = time.monotonic() + args.time_limit
    try:
        with time_limit(args.time_limit + 0.5):
            proof = decide(local, (a, b), key, lambda: max(0.05, deadline - time.monotonic()))
        verdict, reason, point = proof.verdict, proof.reason, proof.counterexample
    except (TimeLimit, RecursionError):
        verdict, reason, point = Verdict.UNKNOWN, "time limit", None
    except (ArithmeticError, ValueError) as error:  # SymPy or mpmath gave up on a number (an overflow)
        verdict, reason, point = Verdict.UNKNOWN, f"could not evaluate ({str(error)[:80]})", None
    words = EQUIV_WORDS[verdict]
    result = {"verdict": words, "method": None if verdict is Verdict.UNKNOWN else proof.method, "reason": reason}
    if point:
        values = dict(point)
        result["counterexample"] = {str(v): exact(x) for v, x in point}
        result["values"] = {"A": exact(_simplified(a.xreplace(values))), "B": exact(_simplified(b.xreplace(values)))}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        line = words
        if point:
            line += " — counterexample: " + ", ".join(f"{k} = {v}" for k, v in result["counterexample"].items())
            line += f"; there A = {result['values']['A']} and B = {result['values']['B']}"
        elif reason:
            line += f" — {reason}"
        print(line)
    return EQUIV_EXIT[verdict]


def _simplified(value: sp.Expr) -> sp.Expr:
    """A counterexample's value, simplified within a second (else as it stands)."""
    from chainrule.deadline import Deadline, OutOfTime

    try:
        with Deadline(1.0):
            return sp.simplify(value)
    except (OutOfTime, ArithmeticError, ValueError):  # out of time, or SymPy's evaluation overflowed
        return value


def evaluate(args) -> int:
    key = answer_key(args.spec)
    spec, model = key.spec, key.derivation.model
    expr = _expression(args.expr, "EXPR", key.vocabulary)
    values = {p.symbol: sp.Rational(v.numerator, v.denominator) for p, v in zip(model.parameters, spec.init)}
    if args.sample is not None:
        if not 1 <= args.sample <= len(spec.x):
            raise ChainruleError(f"--sample {args.sample}: expected 1 to {len(spec.x)} for {spec.name}")
        x, targets = spec.x[args.sample - 1], spec.targets[args.sample - 1]
        values.update({n.symbol: sp.Rational(v.numerator, v.denominator) for n, v in zip(model.inputs, x)})
        values.update({n.symbol: sp.Rational(v.numerator, v.denominator) for n, v in zip(model.targets, targets)})
    leaves = key.vocabulary.leaves()
    for assignment in args.set:
        name, _, text = assignment.partition("=")
        try:
            canonical = canonical_names(name)
            value = parse(text, _NoNames())
        except NotationError as error:
            raise ChainruleError(f"--set {assignment}: {error}") from None
        if len(canonical) != 1 or value.free_symbols:
            raise ChainruleError(f"--set {assignment}: expected NAME=NUMBER")
        symbol = leaves.get(canonical[0])
        if symbol is None:
            symbol = next((s for s in expr.free_symbols if s.name == canonical[0]), None)
        if symbol is None:
            raise ChainruleError(f"--set {assignment}: '{canonical[0]}' is not a variable of the expression or the spec")
        values[symbol] = value
    result = expr.xreplace(values)
    missing = sorted(str(s) for s in result.free_symbols)
    if missing:
        hint = " (use --sample N)" if any(s.startswith("x") or s == "y" for s in missing) else ""
        raise ChainruleError(f"EXPR: no value for {', '.join(missing)}{hint}")
    if result.has(sp.Piecewise):
        result = sp.piecewise_fold(result)
    result = sp.nsimplify(result) if result.is_Float else result
    if result.has(sp.I, sp.nan, sp.zoo) or result in (sp.oo, -sp.oo):
        raise ChainruleError(f"EXPR: its value {exact(result)} is not a real number")
    if args.digits is not None:
        return _print_digits(result, args.digits, args.json)
    if args.json:
        print(json.dumps({"exact": exact(result), "decimal": decimal(result, 12)}))
    else:
        _print_value(result, decimal(result), _is(result, decimal(result)))
    return EXIT_OK


def _is(value: sp.Expr, approx: str) -> bool:
    """Is the decimal the value itself, not a rounding of it? (Decided exactly, for rationals.)"""
    return value.is_Rational and Fraction(Decimal(approx)) == Fraction(int(value.p), int(value.q))


def _print_value(value: sp.Expr, approx: str, equal: bool) -> None:
    """`51/5 = 10.2` when the decimal is the value, `1/3 ≈ 0.333333` when it is rounded."""
    text = exact(value)
    if text == approx:
        print(text)
    else:
        print(f"{text} {'=' if equal else '≈'} {approx}")


def _print_digits(value: sp.Expr, digits: int, as_json: bool) -> int:
    """`eval --digits N`: the decimal correctly rounded to N significant digits, or exit 3 if undecided."""
    found = certify.rounded(value, digits, seconds=DIGITS_SECONDS)
    approx = None if found is None else significant_text(found, digits)
    if as_json:
        print(json.dumps({"exact": exact(value), "decimal": approx, "digits": digits}))
    elif approx is None:
        print(f"{exact(value)} (its first {digits} significant digits could not be certified: interval "
              f"arithmetic did not decide them within {DIGITS_SECONDS:g} s — the value is too large, or "
              "sits on a rounding boundary, or may be 0 where no bounded simplification shows it)")
    else:
        _print_value(value, approx, found == 0 or _is(value, approx))  # found is 0 only when proved 0
    return EXIT_UNKNOWN if approx is None else EXIT_OK


class _NoNames:
    def lookup(self, name):
        return None

    def derivative(self, a, b):
        return None

    def function(self, name):
        return None

    def known_names(self):
        return ()


def learning_rate(args) -> int:
    from chainrule.core.solution import solve
    from chainrule.render import report

    solution = solve(load_spec(args.spec))
    if args.json:
        print(json.dumps({"name": solution.spec.name, **report.solution_json(solution)["learning_rate"]}, indent=2))
    else:
        print(report.learning_rate_text(solution))
    return EXIT_OK


def template(args) -> int:
    spec = load(args.spec)
    lines = [f"# Answers for {spec.title}", "# Values are strings: \"17/5\", \"3.4\", \"\\\\frac{17}{5}\" or an expression.",
             f'spec = "{_spec_reference(args.spec, spec)}"',
             "# variant = 17   # in a class batch: the number of your variant", "", "[answers]"]
    for key, what in answer_keys(spec):
        lines.append(f'# {what}')
        lines.append(f'"{key}" = ""')
    lines += ["", "[proofs]", "# a chain of equalities from dL/dw_i to the backpropagation form, e.g.",
              "# w0 = '\\frac{\\partial L}{\\partial w_0} = \\frac{\\partial L}{\\partial z} \\cdot \\frac{\\partial z}{\\partial w_0} = \\delta_h \\cdot x[0]'"]
    for name in spec.trained_names:
        lines.append(f"{name} = ''")
    print("\n".join(lines))
    return EXIT_OK


def _spec_reference(given: str, spec) -> str:
    """How an answers file names its spec: the bundled name, or the path it was given as."""
    if resolve_path(given) == resolve_path(spec.name):
        return spec.name
    return str(given).replace("\\", "/")
