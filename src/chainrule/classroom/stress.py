"""`chainrule variants --check N`: generate N variants and verify every one of them completely.

Like R/exams' stress test: each variant is redrawn from its seed (it must come out the same),
solved from scratch (every proof decided), its numbers checked against independent routes
(forward-mode derivatives, the update rule, a fresh evaluation at the updated θ), its
constraints re-checked, and its handout and answer sheet compiled when TeX is installed.
The report lists the failures and the distribution of every answer across the variants.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import sympy as sp

from chainrule.classroom.variants import VariantError, make_variant, violations
from chainrule.core.derivation import derive
from chainrule.core.model import build
from chainrule.core.numerics import evaluate, forward_gradient, numeric_check
from chainrule.core.proof import Verdict
from chainrule.core.spec import Spec
from chainrule.errors import ChainruleError
from chainrule.numbers import agree, rational, to_float


def _verify(job: tuple[Spec, str, int, bool]) -> dict:
    """Every check on one variant: {"variant", "draws", "failures": [(check, detail)], "answers"}."""
    from chainrule.core.solution import solve
    from chainrule.render.documents import compile_pdf, render, render_handout

    spec, seed, number, pdf = job
    try:
        variant = make_variant(spec, seed, number)
    except VariantError as error:
        return {"variant": number, "draws": None, "failures": [("constraints", str(error))], "answers": {}}
    failures = []
    if make_variant(spec, seed, number).spec_text != variant.spec_text:
        failures.append(("reproducible", "drawing the variant again from its seed gave other numbers"))
    solution = solve(variant.spec)
    for checked in (*solution.delta_proofs, *solution.identities):
        if checked.verdict is not Verdict.PROVED:
            failures.append(("proofs", f"{checked.chain.subject}: {checked.verdict.value} "
                             f"({checked.identity.reason or checked.identity.method})"))
    failures += _numbers(solution, variant.answers)
    broken = violations(solution.derivation.model, solution.training, variant.answers)
    failures += [("constraints", f"{name} is not met") for name in broken]
    if pdf:
        with tempfile.TemporaryDirectory(prefix="chainrule-stress-") as work:
            for kind, tex in (("handout", render_handout(derive(build(variant.spec), symbolic=False))),
                              ("solution", render(solution))):
                try:
                    compile_pdf(tex, Path(work) / f"{kind}.pdf")
                except Exception as error:  # noqa: BLE001 - any failure to build a PDF is a finding
                    failures.append(("pdf", f"{kind}: {error}"))
    answers = {k: to_float(v) for k, v in variant.answers.items()}
    return {"variant": number, "draws": variant.draws, "failures": failures, "answers": answers}


def _numbers(solution, answers) -> list[tuple[str, str]]:
    """The answer key against independent routes to the same numbers."""
    derivation, training = solution.derivation, solution.training
    model, spec = derivation.model, solution.spec
    initial, after = training.initial, training.after_first
    failures = []
    rational_values = all(g.is_Rational for s in initial.samples for g in s.gradient)
    for sample in initial.samples:
        if rational_values:
            forward = forward_gradient(derivation, initial.theta, sample.number)
            if tuple(forward) != tuple(sample.gradient):
                failures.append(("numbers", f"sample {sample.number}: backpropagation and forward mode differ"))
    if not rational_values and numeric_check(derivation, initial.theta):
        failures.append(("numbers", "backpropagation and forward mode differ in 60-digit arithmetic"))
    eta = rational(spec.learning_rate)
    count = spec.reduction_samples.divisor(len(initial.samples))
    for i, (name, trained) in enumerate(zip(spec.parameter_names, spec.step_mask)):
        total = sp.Add(*(s.gradient[i] for s in initial.samples)) / count
        if not _same(total, initial.gradient[i]):
            failures.append(("numbers", f"gradient.{name} is not the {spec.reduction_samples} of the samples' gradients"))
        if not _same(initial.theta[i] - eta * initial.gradient[i] * trained, after.theta[i]):
            failures.append(("numbers", f"updated.{name} is not θ − η·gradient" if trained else
                             f"updated.{name}: a frozen parameter moved"))
    if not _same(evaluate(derivation, after.theta).loss, after.loss):
        failures.append(("numbers", "new_loss differs from a fresh evaluation at the updated θ"))
    from chainrule.check.mistakes import answer_values

    sheet = answer_values(model, training)
    for key, value in answers.items():
        if not _same(sheet[key], value):
            failures.append(("numbers", f"{key}: the answer sheet says {sheet[key]}, the answer key {value}"))
    return failures


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    return agree(a, b)  # exact for rationals; 60-digit arithmetic for exp, log, tanh values


def run(spec: Spec, count: int, seed: str, *, pdf: bool = True, jobs: int = 0, done=None) -> dict:
    """Verify variants 1..count of `seed`; a JSON-ready report. `done()` is called per variant verified."""
    from chainrule.render.documents import latexmk_available

    started = time.perf_counter()
    compile_pdfs = pdf and latexmk_available()
    work = [(spec, seed, n, compile_pdfs) for n in range(1, count + 1)]
    workers = min(jobs or os.cpu_count() or 1, count)
    done = done or (lambda: None)
    results = []
    if workers == 1:
        for job in work:
            results.append(_verify(job))
            done()
    else:
        from chainrule.pool import results as in_workers

        results = in_workers(_verify, work, workers, raises=(ChainruleError,), done=done)
    draws = sorted(r["draws"] for r in results if r["draws"] is not None)
    keys = list(results[0]["answers"]) if results and results[0]["answers"] else []
    distribution = {}
    for key in keys:
        values = sorted(r["answers"][key] for r in results if r["answers"])
        distribution[key] = {
            "min": values[0], "median": statistics.median(values), "max": values[-1],
            "zero": sum(1 for v in values if v == 0), "distinct": len(set(values)),
        }
    return {
        "spec": spec.name, "seed": seed, "count": count,
        "pdf": "compiled" if compile_pdfs else ("skipped: latexmk not found" if pdf else "skipped (--no-pdf)"),
        "seconds": round(time.perf_counter() - started, 1),
        "failures": [{"variant": r["variant"], "check": check, "detail": detail}
                     for r in results for check, detail in r["failures"]],
        "draws": {"min": draws[0], "median": statistics.median(draws), "max": draws[-1], "total": sum(draws)}
        if draws else None,
        "answers": distribution,
    }


def text(report: dict) -> str:
    lines = [f"stress test: {report['count']} variants of {report['spec']} (seed {report['seed']}), "
             f"{report['seconds']} s; PDFs {report['pdf']}"]
    if report["draws"]:
        d = report["draws"]
        lines.append(f"draws per variant: min {d['min']}, median {d['median']}, max {d['max']} (total {d['total']})")
    failures = report["failures"]
    lines.append(f"failures: {len(failures)}" + ("" if failures else " — every variant verified: reproducible, "
                                                "all proofs proved, numbers consistent, constraints met"))
    for f in failures[:50]:
        lines.append(f"  ✗ variant {f['variant']}: {f['check']}: {f['detail']}")
    if len(failures) > 50:
        lines.append(f"  … and {len(failures) - 50} more (use --json)")
    if report["answers"]:
        lines.append("")
        lines.append(f"{'answer':<26}{'min':>12}{'median':>12}{'max':>12}{'zero':>6}{'distinct':>9}")
        for key, d in report["answers"].items():
            lines.append(f"{key:<26}{d['min']:>12.4g}{d['median']:>12.4g}{d['max']:>12.4g}{d['zero']:>6}{d['distinct']:>9}")
    return "\n".join(lines)
