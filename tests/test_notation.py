"""The notation parser: every spelling students use, and every way untrusted text can go wrong."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import (
    Abs,
    Max,
    Min,
    Piecewise,
    Rational,
    Symbol,
    cos,
    exp,
    log,
    sin,
    sqrt,
    tan,
)

from chainrule.check import notation
from chainrule.check.notation import FreeVocabulary, canonical_names, parse, parse_chain
from chainrule.check.tokens import NotationError
from chainrule.errors import ChainruleError

MODEL_NAMES = ("w0", "w1", "w2", "w3", "w4", "x0", "x1", "y", "y_hat", "z", "h",
               "delta_y_hat", "delta_h", "delta_h1", "L", "eta")


def g(t):
    return Piecewise((0, t <= 0), (t, True))


def g_prime(t):
    return Piecewise((0, t <= 0), (1, True))


class FakeVocabulary:
    def lookup(self, name):
        return Symbol(name) if name in MODEL_NAMES else None

    def derivative(self, numerator, denominator):
        if numerator in MODEL_NAMES and denominator in MODEL_NAMES and denominator not in (numerator, "y"):
            return Symbol(f"d{numerator}_d{denominator}")
        return None

    def function(self, name):
        return {"g": g, "g'": g_prime}.get(name)

    def known_names(self):
        return MODEL_NAMES


V = FakeVocabulary()
S = {name: Symbol(name) for name in MODEL_NAMES}
w0, w1, w3, x0, x1, y, y_hat, z, h = (S[k] for k in "w0 w1 w3 x0 x1 y y_hat z h".split())
delta_h, delta_y_hat, L, eta = S["delta_h"], S["delta_y_hat"], S["L"], S["eta"]
a, b, t, u1, x, alpha = (Symbol(n, real=True) for n in ("a", "b", "t", "u1", "x", "alpha"))


def same(got, want) -> bool:
    return got == want or sympy.simplify(got - want) == 0


SPELLINGS = [
    # derivatives
    (r"\frac{\partial L}{\partial w_0}", Symbol("dL_dw0")),
    (r"\partial L / \partial w_0", Symbol("dL_dw0")),
    (r"\frac{dL}{dw_0}", Symbol("dL_dw0")),
    (r"\frac{d L}{d w_{0}}", Symbol("dL_dw0")),
    (r"\frac{\mathrm{d}L}{\mathrm{d}w_0}", Symbol("dL_dw0")),
    ("dL/dw0", Symbol("dL_dw0")),
    ("dL/dz", Symbol("dL_dz")),
    ("d L / d z", Symbol("dL_dz")),
    ("dyhat/dz", Symbol("dy_hat_dz")),
    (r"\frac{d\hat{y}}{dz}", Symbol("dy_hat_dz")),
    ("∂L/∂z", Symbol("dL_dz")),
    ("2 dL/dz * x0", 2 * Symbol("dL_dz") * x0),
    ("delta_h / delta_y_hat", delta_h / delta_y_hat),  # names starting with d stay names
    # model names
    (r"\hat{y}", y_hat), (r"\widehat{y}", y_hat), (r"\hat y", y_hat), ("yhat", y_hat),
    ("y_hat", y_hat), ("ŷ", y_hat),
    (r"\mathbf{x}[0]", x0), ("x[0]", x0), ("x_0", x0), ("x_{0}", x0), ("x0", x0),
    ("w_{0}", w0), ("w_0", w0), ("w0", w0),
    (r"\delta_{\hat{y}}", delta_y_hat), (r"\delta_{\widehat{y}}", delta_y_hat),
    ("delta_yhat", delta_y_hat), ("delta_y_hat", delta_y_hat),
    (r"\delta_h", delta_h), ("delta_h", delta_h), (r"\delta_{h_1}", S["delta_h1"]),
    (r"\delta_{h_{1}}", S["delta_h1"]), ("delta_h1", S["delta_h1"]), ("delta_h_1", S["delta_h1"]),
    (r"\eta", eta), ("η", eta), ("eta", eta),
    # functions
    ("g'(z)", g_prime(z)), (r"g^{\prime}(z)", g_prime(z)), (r"g'\left(z\right)", g_prime(z)),
    ("g(z)", g(z)), ("relu(z)", g(z)), (r"\operatorname{ReLU}(z)", g(z)),
    (r"\max(0, z)", Max(0, z)), (r"\max\left(0, z\right)", Max(0, z)), ("max(0, z)", Max(0, z)),
    ("min(a,b)", Min(a, b)), (r"\min(a, b)", Min(a, b)),
    (r"\sqrt{x}", sqrt(x)), ("sqrt(x)", sqrt(x)), (r"\exp(x)", exp(x)), ("exp(x)", exp(x)),
    (r"\log(x)", log(x)), (r"\ln(x)", log(x)), ("ln(x)", log(x)), ("log(x)", log(x)),
    (r"\ln x", log(x)), (r"\ln x^2", log(x**2)), (r"\sin(x)^2", sin(x) ** 2),
    (r"\sin(x)", sin(x)), (r"\cos x", cos(x)), (r"\tan(x)", tan(x)),
    ("abs(x)", Abs(x)), ("|x|", Abs(x)), (r"\left| x \right|", Abs(x)), ("|x - |a||", Abs(x - Abs(a))),
    # arithmetic
    (r"2 \cdot x", 2 * x), (r"2\cdot x", 2 * x), (r"2 \times x", 2 * x), ("2·x", 2 * x),
    (r"\frac{a}{b}", a / b), (r"\left( a + b \right)", a + b), (r"\left[ a + b \right]", a + b),
    ("{a + b} x", (a + b) * x), ("1.3", Rational(13, 10)), (".5", Rational(1, 2)),
    ("0.1 + 0.2", Rational(3, 10)), ("x^2", x**2), ("x^{2}", x**2), ("x**2", x**2),
    ("2^3^2", Rational(512)), ("x^-1", 1 / x), ("-x^2", -(x**2)), ("- -x", x), ("a - -b", a + b),
    ("a * -b", -a * b), ("1/2x", x / 2), ("2*(yhat - y)", 2 * (y_hat - y)),
    ("x^2 + 2x + 1", x**2 + 2 * x + 1), ("2e-3", Rational(1, 500)), ("a−b", a - b),
    # implicit multiplication
    ("2x", 2 * x), ("2(x+1)", 2 * (x + 1)), ("(x+1)(x-1)", (x + 1) * (x - 1)), ("x y", x * y), ("a b", a * b),
    (r"\delta_h x[0]", delta_h * x0), ("w_3 h", w3 * h), ("delta_h * x0", delta_h * x0),
    ("x(x+1)", x * (x + 1)), ("a (b)", a * b),
    # spacing and free variables
    (r"a\,b\;+\!a~b", 2 * a * b), ("t", t), ("u_1", u1), (r"\alpha", alpha), ("α", alpha),
    (r"$\frac{a}{b}$", a / b),
]


@pytest.mark.parametrize("text, expected", SPELLINGS)
def test_spelling(text, expected):
    assert same(parse(text, V), expected), text


@pytest.mark.parametrize("latex, plain", [
    (r"\frac{\partial L}{\partial \hat{y}}", "dL/dyhat"),
    (r"\delta_{\hat{y}} \cdot h", "delta_y_hat * h"),
    (r"\delta_h x_{0}", "delta_h * x0"),
    (r"2\left(\hat{y} - y\right)", "2*(y_hat - y)"),
    (r"\max\left(0, w_0 x_0 + w_1 x_1\right)", "max(0, w0*x0 + w1*x1)"),
    (r"g'(z) \cdot w_3 \cdot \delta_{\hat{y}}", "g'(z)*w3*delta_yhat"),
    (r"w_0 - \eta \frac{\partial L}{\partial w_0}", "w0 - eta*dL/dw0"),
    (r"\frac{1}{2}\left(\hat{y}-y\right)^{2}", "(yhat - y)**2/2"),
])
def test_latex_and_plain_agree(latex, plain):
    assert parse(latex, V) == parse(plain, V)


def test_same_free_name_is_same_symbol():
    assert parse("a - a", FreeVocabulary()) == 0
    assert parse(r"\alpha_1 + alpha_1", FreeVocabulary()) == 2 * Symbol("alpha1", real=True)


def test_free_vocabulary_treats_single_letters_as_variables():
    free = FreeVocabulary()
    assert parse("x^2 + 2x + 1", free) == x**2 + 2 * x + 1
    assert parse("g(z)", free) == Symbol("g", real=True) * Symbol("z", real=True)
    with pytest.raises(NotationError, match="unknown name 'y_hat'"):
        parse(r"\hat{y}", free)


@pytest.mark.parametrize("text, expected", [
    ("a = b = c", 3), (r"\frac{\partial L}{\partial z} = \delta_h = 2(\hat{y} - y)", 3), ("x", 1),
])
def test_chain(text, expected):
    assert len(parse_chain(text, V)) == expected


def test_chain_values():
    assert parse_chain("dL/dz = delta_h = 2 (yhat - y)", V) == (
        Symbol("dL_dz"), delta_h, 2 * y_hat - 2 * y)
    with pytest.raises(NotationError, match="column 3"):
        parse("a = b", V)


def test_relu_is_the_exact_piecewise():
    assert parse("relu(t)", V) == Piecewise((0, t <= 0), (t, True))
    assert parse("relu(-2)", V) == 0


def test_canonical_names():
    assert canonical_names(r"\delta_{\hat{y}} x[0] + w_{1} yhat") == ("delta_y_hat", "x0", "w1", "y_hat")
    assert canonical_names(r"\mathcal{L} + L") == ("dataset_L", "L")
    assert canonical_names("delta_h_1 + h_{1} + delta_yhat") == ("delta_h1", "h1", "delta_y_hat")


@pytest.mark.parametrize("text, message", [
    ("yaht", r"unknown name 'yaht' at column 1; did you mean 'yhat'\?"),
    ("2 * detla_h", r"unknown name 'detla_h' at column 5; did you mean 'delta_h'\?"),
    ("foo", "unknown name 'foo'"),
    ("foo(x)", "unknown function 'foo'"),
    ("rleu(x)", "did you mean 'relu'"),
    (r"\input{/etc/passwd}", r"unknown LaTeX command '\\input' at column 1"),
    (r"\write18{ls}", r"unknown LaTeX command '\\write'"),
    (r"\def\x{1}", r"unknown LaTeX command '\\def'"),
    (r"\include{x}", "unknown LaTeX command"),
    (r"\csname x\endcsname", "unknown LaTeX command"),
    (r"\catcode`\^=7", "unknown LaTeX command"),
    (r"\frca{a}{b}", r"did you mean '\\frac'\?"),
    ("dL/dfoo", "unknown name 'dL'"),
    ("dL/dy", "the derivative dL/dy is not defined in this model"),
    (r"\frac{\partial L}{\partial L}", "derivative dL/dL is not defined"),
    (r"\partial L", "belongs in a derivative"),
    ("9^9^9^9", "exponent too large"),
    ("(x+1)^100000", "exponent too large"),
    ("2^(1/1001)", "exponent too large"),
    ("(10^1000)^1000", "number too large"),
    ("1" * 1001, "number too long"),
    ("1/0", "division by zero"),
    ("0^-1", "division by zero"),
    ("(x+1", "unexpected end of expression; expected '\\)'"),
    ("x + * y", r"unexpected '\*' at column 5"),
    ("1.2.3", "malformed number"),
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("exp", "'exp' is a function"),
    ("sqrt(a, b)", "sqrt takes 1 argument, got 2"),
    ("max(a)", "max takes at least 2 arguments"),
    ("x(a, b)", "unknown function 'x'"),
    (r"\sin x y", "ambiguous product"),
    ("a\x00b", "control character U\\+0000 is not allowed at column 2"),
    ("a = b", "expected one expression"),
    ("x'", "unknown name"),
    ("1e99999", "number too long"),
    ("exp(" * 11 + "x" + ")" * 11, "functions are nested more than 10 deep"),
    ("relu(relu(a) + relu(b) + relu(t) + relu(x) + relu(u1))", "more than 4 piecewise functions"),
    ("relu(relu(tan(x)))", "relu of an expression containing relu or g may use only small"),
    ("g(2^100 * g(z))", "g of an expression containing relu or g"),
    ("x^" * 25 + "x", "powers are stacked more than 20 high"),
    ("exp(10^999)", "number too large inside exp"),
    (r"\sqrt{10^999}", "number too large inside sqrt"),
    ("(10^999)^(1/2)", "number too large"),
    ("2^(10^999 x)", "exponent too large"),
    ("log(0)", "expression is undefined"),
    ("0/0", "division by zero"),
    ("max(sqrt(-1), 2)", "cannot evaluate max here"),
    (r"\left\{ x \right\}", "must be followed by"),
    ("x \\", "unexpected character"),
])
def test_errors(text, message):
    with pytest.raises(NotationError, match=message) as caught:
        parse(text, V)
    assert isinstance(caught.value, ChainruleError)
    assert caught.value.text == text


def test_error_attributes():
    with pytest.raises(NotationError) as caught:
        parse("2*(yaht - y)", V)
    assert caught.value.position == 3
    assert str(caught.value) == "unknown name 'yaht' at column 4; did you mean 'yhat'?"


def test_power_tower_is_refused():
    with pytest.raises(NotationError):
        parse("9^9^9^9", V)


def test_big_but_allowed_numbers():
    assert parse("2^1000", V) == 2**1000
    assert parse("(x+1)^1000", V) == (x + 1) ** 1000
    assert parse("(2^999)^(1/2)", V) == 2**499 * sqrt(2)
    assert parse("1e-1000", V) == Rational(1, 10**1000)


def test_a_two_layer_network_may_nest_activations():
    value = parse("g(w_3 g(w_0 x_0 + w_1 x_1) + w_4)", V)
    assert value == g(w3 * g(w0 * x0 + w1 * x1) + S["w4"])


def test_time_budget_stops_sympy_and_leaves_the_thread_clean(monkeypatch):
    monkeypatch.setattr(notation, "TIME_BUDGET_SECONDS", 0.01)
    slow = "relu(m*relu(n*relu(p*relu(q)+r)+s)+k)"  # ~1 s of SymPy inequality solving
    with pytest.raises(NotationError, match="too complex"):
        parse(slow, V)
    time.sleep(0.05)  # an exception injected too late would surface here
    assert parse("a + a", V) == 2 * a


def test_parsing_in_threads():
    texts = [f"{i} x_0 + dL/dw{i % 5}" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda text: parse(text, V), texts))
    assert results == [i * x0 + Symbol(f"dL_dw{i % 5}") for i in range(40)]


def test_deep_nesting_is_a_clean_error():
    with pytest.raises(NotationError, match="nested more than 200"):
        parse("(" * 10_000 + "x" + ")" * 10_000, V, max_length=100_000)
    with pytest.raises(NotationError, match="nested more than 200"):
        parse("|" * 10_000, V, max_length=100_000)


@pytest.mark.parametrize("text", [
    "(" * 200 + "x" + ")" * 200,
    "(1+" * 200 + "x" + ")" * 200,
    "-(" * 200 + "x" + ")" * 200,
    "x^(" * 200 + "x" + ")" * 200,
    r"\frac{1}{" * 200 + "x" + "}" * 200,
    "sqrt(" * 200 + "x" + ")" * 200,
    "+".join(["x"] * 4000),
    "*".join(["x"] * 4000),
    "^".join(["1"] * 4000),
    "-" * 9000 + "x",
])
def test_deep_but_allowed_input_does_not_recurse_out(text):
    try:
        parse(text, V)
    except NotationError:
        pass  # a clean error is fine; RecursionError or a hang is not


def test_length_limit():
    with pytest.raises(NotationError, match="limit is 10000"):
        parse("x+" * 500_000 + "x", V)
    with pytest.raises(NotationError, match="limit is 5"):
        parse("x+x+x+x", V, max_length=5)


def test_binary_junk():
    junk = bytes(range(256)).decode("latin-1") * 4
    with pytest.raises(NotationError):
        parse(junk, V)


def test_python_payload_does_not_run(tmp_path):
    target = tmp_path / "pwned"
    for payload in (f"__import__('os').system('touch {target}')",
                    "().__class__.__bases__[0].__subclasses__()",
                    f"exec(\"open('{target}','w')\")",
                    f"eval(\"__import__('os').system('touch {target}')\")"):
        with pytest.raises(NotationError):
            parse(payload, V)
    assert not target.exists()


def test_typical_chain_parses_to_its_steps():
    text = r"\frac{\partial L}{\partial w_0} = \delta_h x_0 = 2(\hat{y} - y) w_3 g'(z) x[0]"
    assert len(parse_chain(text, V)) == 3


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_only_notation_errors(text):
    try:
        parse_chain(text, V)
    except NotationError:
        pass


_ALPHABET = "0123456789.+-*/^()[]{}|_=,'\\ xyzwhdLeg" + "".join(
    ["\\frac", "\\partial", "\\hat", "\\left", "\\right", "\\sqrt", "\\cdot", "\\delta"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(_ALPHABET) + [
    r"\frac", r"\partial ", r"\hat", r"\left(", r"\right)", r"\sqrt", r"\cdot ", r"\delta_",
    "yhat", "dL", "/dz", "g'", "max", "relu", "(", ")", "^", "9", "x_{", "}"]), max_size=40))
def test_fuzz_token_soup_only_notation_errors(pieces):
    try:
        parse_chain("".join(pieces), V)
    except NotationError:
        pass


# Random expression trees, printed both ways by hand; both must read back as the same value.
LEAVES = [("w0", "w_{0}"), ("x1", r"\mathbf{x}[1]"), ("yhat", r"\hat{y}"), ("y", "y"),
          ("delta_h", r"\delta_h"), ("delta_yhat", r"\delta_{\widehat{y}}"), ("eta", r"\eta"),
          ("a", "a"), ("u_1", "u_{1}"), ("3", "3"), ("0.25", ".25"), ("12", "12"),
          ("dL/dz", r"\frac{\partial L}{\partial z}")]
UNARY = [("sqrt({})", r"\sqrt{{{}}}"), ("exp({})", r"\exp\left({}\right)"), ("ln({})", r"\ln({})"),
         ("abs({})", r"\left|{}\right|"), ("g({})", "g({})"), ("g'({})", "g'({})"),
         ("relu({})", r"\operatorname{{relu}}({})"), ("-({})", r"-\left({}\right)"),
         ("sin({})", r"\sin({})")]
BINARY = [("({})+({})", "{{{}}}+{{{}}}"), ("({})-({})", r"\left({}\right)-\left({}\right)"),
          ("({})*({})", r"{{{}}}\cdot{{{}}}"), ("({})/({})", r"\frac{{{}}}{{{}}}"),
          ("({})({})", r"\left({}\right)\left({}\right)"), ("max({},{})", r"\max\left({}, {}\right)"),
          ("min({},{})", r"\min({}, {})")]


def _trees():
    leaf = st.sampled_from(LEAVES)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(st.sampled_from(UNARY), inner).map(
            lambda p: (p[0][0].format(p[1][0]), p[0][1].format(p[1][1]))),
        st.tuples(st.sampled_from(BINARY), inner, inner).map(
            lambda p: (p[0][0].format(p[1][0], p[2][0]), p[0][1].format(p[1][1], p[2][1]))),
        st.tuples(inner, st.integers(0, 4)).map(
            lambda p: (f"({p[0][0]})^{p[1]}", f"{{{p[0][1]}}}^{{{p[1]}}}")),
    ), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_trees())
def test_plain_and_latex_printings_agree(pair):
    plain, latex = pair
    try:
        expected = parse(plain, V)
    except NotationError as error:  # 1/(x-x), ln(0), a limit: the LaTeX fails the same way
        with pytest.raises(NotationError) as latex_error:
            parse(latex, V)
        assert str(latex_error.value).split(" at column")[0] == str(error).split(" at column")[0]
        return
    assert parse(latex, V) == expected, (plain, latex)


# ---------------------------------------------------------------- layered names and smooth activations

@pytest.fixture(scope="module")
def deep():
    from chainrule.check.answer_key import answer_key

    return answer_key("two_hidden_relu")


@pytest.mark.parametrize("latex, node", [
    (r"w^{(1)}_{12}", "w1"),              # layer 1, unit 1, input 2
    (r"w^{(2)}_{23}", "w15"),
    (r"w^{(1)}_{3,2}", "w7"),             # the comma spelling of wide layers
    (r"b^{(1)}_{2}", "w5"),
    (r"b^{(3)}_1", "w19"),
    (r"z^{(1)}_{3}", "z1_3"),
    (r"a^{(2)}_{1}", "a2_1"),
    (r"\delta^{(1)}_{2}", "delta_z1_2"),
    (r"\delta_{z^{(2)}_{1}}", "delta_z2_1"),
    ("delta_z2_1", "delta_z2_1"),          # the plain spelling still works
])
def test_layered_latex_names_are_the_models_nodes(deep, latex, node):
    model = deep.derivation.model
    expected = model.by_name[node].symbol if node.startswith("w") else deep.vocabulary.lookup(node)
    value = parse(latex, deep.vocabulary)
    assert value == (deep.derivation.composed.get(expected, expected) if node.startswith("w") else expected)


def test_every_printed_layered_name_reads_back_as_its_node(deep):
    """What the answer sheet prints, a student can copy: every node's LaTeX parses to that node."""
    model = deep.derivation.model
    for node in (*model.parameters, *(u.pre for u in model.units), *(u.out for u in model.units), *model.deltas):
        value = parse(node.latex, deep.vocabulary)
        expected = deep.vocabulary.lookup(node.name) if node.kind != "parameter" else node.symbol
        assert value == expected, node.latex


@pytest.mark.parametrize("text, expected", [
    (r"\tanh(0)", 0),
    ("tanh(x) - (exp(2x) - 1)/(exp(2x) + 1)", 0),
    ("sigmoid(x) - 1/(1 + exp(-x))", 0),
    ("softplus(x) - log(1 + exp(x))", 0),
])
def test_smooth_activation_functions(text, expected):
    assert sympy.simplify(parse(text, FreeVocabulary()).rewrite(sympy.exp) - expected) == 0


def test_sigma_is_the_sigmoid_in_a_sigmoid_network_and_a_variable_elsewhere():
    from chainrule.check.answer_key import answer_key

    sigmoid_network = answer_key("sigmoid_bce").vocabulary
    z = sympy.Symbol("z", real=True)
    assert parse(r"\sigma(z)", sigmoid_network).subs(z, 0) == sympy.Rational(1, 2)
    assert parse(r"\sigma(z)", FreeVocabulary()) == sympy.Symbol("sigma", real=True) * z
