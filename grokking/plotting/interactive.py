"""The book's interactive explorers: Plotly figures of computed results, drawn only.

Each function takes what :mod:`grokking.analysis.explorer` (or the sweep's result
tables) computed and returns a ``plotly.graph_objects.Figure``; :func:`page_html` turns
one into the HTML a chapter shows. Conventions:

- a pickable view is one trace per choice, all but the first hidden, and a dropdown that
  switches visibility (no easing, no server: the page carries the data);
- every heatmap is indexed [a, b] with a on the vertical axis, as the static figures;
  every cell's hover names a, b and the value;
- colours come from :mod:`grokking.plotting.style` (viridis for every heatmap).
"""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..analysis.explorer import FRAME_SERIES, TABLE_CODES, table_codes
from ..analysis.regimes import REGIMES, regime
from .style import (
    EXCLUDED_COLOR,
    KEY_COLOR,
    PHASE_SHADES,
    PLAIN_COLOR,
    REGIME_COLORS,
    RESTRICTED_COLOR,
    TABLE_COLORS,
    TEST_COLOR,
    TRAIN_COLOR,
)

COLORSCALE = "Viridis"  # style.CMAP, as Plotly names it
FONT = {"size": 13}  # at least 9 px at a phone's width too (Plotly draws text at this size)
# no mode bar: the explorers are read through their menus and tooltips, and on a phone the
# bar covers the title
CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}
HEIGHT = 460


def _layout(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    """Title at the top left, the menu (if any) under it, then the plot area."""
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top",
                             "yref": "container", "font": {"size": 15}},
                      font=FONT, height=height, margin={"l": 55, "r": 20, "t": 100, "b": 50},
                      template="plotly_white", autosize=True)
    return fig


def _dropdown(labels: list[str], traces_per_choice: int, titles: list[str] | None = None) -> dict:
    """A dropdown whose i-th entry shows choice i's traces and hides the rest."""
    n = len(labels)
    buttons = []
    for i, label in enumerate(labels):
        visible = [j // traces_per_choice == i for j in range(n * traces_per_choice)]
        layout = {"title.text": titles[i]} if titles else {}
        buttons.append({"label": label, "method": "update", "args": [{"visible": visible}, layout]})
    return {"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
            "pad": {"b": 8}, "showactive": True, "active": 0}


def _heatmap(z, hover: str, *, visible: bool, colorbar: dict | None = None, **kwargs) -> go.Heatmap:
    colorbar = {"thickness": 12, "len": 0.9, **(colorbar or {})}
    return go.Heatmap(z=np.asarray(z, dtype=np.float32), colorscale=COLORSCALE, visible=visible,
                      hovertemplate=hover + "<extra></extra>", colorbar=colorbar, **kwargs)


def _grid_axes(fig: go.Figure, n: int, x: str = "b", y: str = "a", **cell) -> None:
    """Both axes of an n x n grid panel (``cell``: its row and col, in a figure of subplots)."""
    fig.update_xaxes(title_text=x, range=[-0.5, n - 0.5], constrain="domain", **cell)
    fig.update_yaxes(title_text=y, range=[-0.5, n - 0.5], constrain="domain", **cell)


# ------------------------------------------------------------------ the final model
def attention_explorer(attention: torch.Tensor) -> go.Figure:
    """Attention from '=' to 'a' over (a, b), one head at a time. ``attention`` is (heads, p, p)."""
    heads, p = attention.shape[0], attention.shape[1]
    fig = go.Figure([_heatmap(attention[h], "a = %{y}, b = %{x}<br>attention to a: %{z:.3f}", visible=h == 0,
                              zmin=0, zmax=1) for h in range(heads)])
    titles = [f"Head {h}: attention from '=' to 'a' over (a, b)" for h in range(heads)]
    fig.update_layout(updatemenus=[_dropdown([f"head {h}" for h in range(heads)], 1, titles)])
    _grid_axes(fig, p)
    return _layout(fig, titles[0])


def neuron_label(pick: dict) -> str:
    """A neuron picker entry: its cluster and how much of it one frequency explains."""
    if pick["cluster"] is None:
        return f"no cluster: neuron {pick['neuron']} (k = {pick['frequency']}: {pick['share']:.0%})"
    return f"k = {pick['cluster']}: neuron {pick['neuron']} ({pick['share']:.0%})"


def neuron_explorer(views: dict, picks: list[dict]) -> go.Figure:
    """A neuron picker: each neuron's activation over (a, b) beside its 2D Fourier spectrum.

    ``views`` is :func:`grokking.analysis.explorer.neuron_views` of ``picks``
    (:func:`grokking.analysis.explorer.picked_neurons`).
    """
    acts, spectra = views["acts"], views["spectra"]
    p, n_freq = acts.shape[1], spectra.shape[1]
    # stacked, not side by side: two panels across a phone are too narrow to read
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.1)
    for i, pick in enumerate(picks):
        first = i == 0
        fig.add_trace(_heatmap(acts[i], f"a = %{{y}}, b = %{{x}}<br>neuron {pick['neuron']}: %{{z:.3f}}",
                               visible=first, colorbar={"y": 0.78, "len": 0.42, "title": {"text": "activation"}}),
                      row=1, col=1)
        fig.add_trace(_heatmap(spectra[i], "frequency of a: %{y}, of b: %{x}<br>sqrt power %{z:.3g}",
                               visible=first, colorbar={"y": 0.22, "len": 0.42, "title": {"text": "√power"}}),
                      row=2, col=1)
    labels = [neuron_label(pick) for pick in picks]
    titles = [f"Neuron {pick['neuron']}: " + ("in no cluster" if pick["cluster"] is None
                                               else f"cluster k = {pick['cluster']}") for pick in picks]
    fig.update_layout(updatemenus=[_dropdown(labels, 2, titles)])
    _grid_axes(fig, p, row=1, col=1)
    _grid_axes(fig, n_freq, "frequency of b (2D Fourier)", "frequency of a", row=2, col=1)
    return _layout(fig, titles[0], height=2 * HEIGHT)


def logit_explorer(grids: torch.Tensor, answers: list[int]) -> go.Figure:
    """The logit of one answer c over (a, b), c picked from ``answers``; ``grids`` is (n, p, p).
    Each cell's hover also gives (a + b) mod p, so the stripes can be read off: the logit
    of c is highest along a + b = c (mod p)."""
    p = grids.shape[1]
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    total = ((a + b) % p).astype(np.int16)
    fig = go.Figure([_heatmap(grids[i], f"a = %{{y}}, b = %{{x}}, (a + b) mod {p} = %{{customdata}}"
                                        f"<br>logit of c = {c}: %{{z:.2f}}", visible=i == 0, customdata=total)
                     for i, c in enumerate(answers)])
    titles = [f"The logit of the answer c = {c} over (a, b)" for c in answers]
    fig.update_layout(updatemenus=[_dropdown([f"c = {c}" for c in answers], 1, titles)])
    _grid_axes(fig, p)
    return _layout(fig, titles[0])


# ------------------------------------------------------------------ training
SERIES_STYLE = dict(zip(FRAME_SERIES, (("train loss", TRAIN_COLOR), ("test loss", TEST_COLOR),
                                       ("restricted loss", RESTRICTED_COLOR), ("excluded loss", EXCLUDED_COLOR)),
                        strict=True))
TABLE_TRACE = 5  # trace order: 4 loss curves, the current-epoch markers, the table, 2 norm bars


def _sig(values, digits: int = 4) -> list:
    """Values rounded to ``digits`` significant digits (the page carries every frame)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def _b64(data: torch.Tensor) -> str:
    """Bytes as URL-safe base64 ('-' and '_': the page's JSON escapes every '/' to six bytes)."""
    return base64.urlsafe_b64encode(data.to(torch.uint8).numpy().tobytes()).decode("ascii")


def training_title(epoch: int, last: int, phase: str) -> str:
    """The training explorer's title at one frame (:data:`TRAINING_SCRIPT` writes the same)."""
    return f"Epoch {epoch:,} of {last:,}: {phase}"


def training_explorer(frames: dict, curves: dict[str, tuple[torch.Tensor, torch.Tensor]],
                      key_freqs: list[int], boundaries: dict[str, int], start: int = 0) -> go.Figure:
    """The training explorer: one slider over the checkpoints (:data:`TRAINING_SCRIPT` adds it,
    with play and step buttons) driving four panels stacked for a phone's width:

    1. the four losses over training (log scale, phases shaded), a cursor and a marker on
       each curve at the frame's epoch;
    2. the (a, b) table, each pair coloured by train / test and right / wrong;
    3. and 4. the norms of W_E and of W_L per frequency, key frequencies in orange.

    ``frames`` is :func:`grokking.analysis.explorer.training_frames`; ``curves`` maps each of
    its series to (epochs, values) for the whole curve; ``start`` is the frame shown before
    the reader moves the slider. The frames travel in ``layout.meta.training``.
    """
    p = frames["p"]
    epochs = [int(e) for e in frames["epoch"]]
    last = epochs[-1]
    fig = make_subplots(rows=4, cols=1, row_heights=[0.26, 0.4, 0.17, 0.17], vertical_spacing=0.075)
    for key, (name, colour) in SERIES_STYLE.items():
        x, y = curves[key]
        fig.add_trace(go.Scatter(x=np.asarray(x).tolist(), y=_sig(y), name=name, mode="lines",
                                 line={"color": colour, "width": 1.6},
                                 hovertemplate=f"epoch %{{x:,}}<br>{name} %{{y:.3g}}<extra></extra>"), row=1, col=1)
    series = {key: _sig(frames[key]) for key in SERIES_STYLE}
    fig.add_trace(go.Scatter(x=[epochs[start]] * 4, y=[series[k][start] for k in SERIES_STYLE], mode="markers",
                             marker={"color": [c for _, c in SERIES_STYLE.values()], "size": 9,
                                     "line": {"color": "white", "width": 1}},
                             showlegend=False, hoverinfo="skip"), row=1, col=1)
    names = list(TABLE_CODES)
    scale = [[edge / 4, TABLE_COLORS[name]] for i, name in enumerate(names) for edge in (i, i + 1)]
    codes = table_codes(frames["correct_bits"][start], frames["train_bits"], p)
    fig.add_trace(go.Heatmap(z=codes.numpy(), colorscale=scale, zmin=-0.5, zmax=3.5, showscale=False,
                             hovertemplate="a = %{y}, b = %{x}<br>%{text}<extra></extra>"), row=2, col=1)
    n_freq = frames["W_E_freq_norms"].shape[1]
    ks = list(range(1, n_freq + 1))
    colours = [KEY_COLOR if k in key_freqs else PLAIN_COLOR for k in ks]
    for row, key, what in ((3, "W_E_freq_norms", "W_E"), (4, "W_L_freq_norms", "W_L")):
        fig.add_trace(go.Bar(x=ks, y=_sig(frames[key][start]), marker={"color": colours}, showlegend=False,
                             hovertemplate=f"frequency %{{x}}<br>norm of {what} %{{y:.3g}}<extra></extra>"),
                      row=row, col=1)
        top = float(frames[key].max()) * 1.05
        fig.update_yaxes(title_text=f"{what} norm", range=[0, top], row=row, col=1)
        fig.update_xaxes(title_text="frequency k" if row == 4 else None, range=[0.4, n_freq + 0.6], row=row, col=1)
    # the table's key: a legend of its own under it (a colour bar beside it would take a third
    # of a phone's width); these traces come after the ones the script updates
    for name in names:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, legend="legend2",
                                 marker={"symbol": "square", "size": 13, "color": TABLE_COLORS[name]},
                                 hoverinfo="skip"), row=2, col=1)
    edges = [0, *boundaries.values(), max(last, *boundaries.values())]
    for colour, lo, hi in zip(PHASE_SHADES, edges[:-1], edges[1:], strict=False):
        fig.add_vrect(x0=lo, x1=hi, fillcolor=colour, opacity=0.6, line_width=0, layer="below", row=1, col=1)
    fig.add_shape(type="line", x0=epochs[start], x1=epochs[start], y0=0, y1=1, xref="x", yref="y domain",
                  line={"color": "#1f1f1f", "width": 1.5})
    fig.update_xaxes(title_text="epoch", range=[0, last], row=1, col=1)
    fig.update_yaxes(title_text="loss", type="log", exponentformat="power", row=1, col=1)
    _grid_axes(fig, p, row=2, col=1)
    fig.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                              "entrywidth": 0.5, "entrywidthmode": "fraction", "font": {"size": 12}},
                      legend2={"orientation": "h", "x": 0, "xanchor": "left", "y": fig.layout.yaxis2.domain[0] - 0.04,
                               "yanchor": "top", "entrywidth": 0.5, "entrywidthmode": "fraction",
                               "font": {"size": 12}, "itemclick": False, "itemdoubleclick": False},
                      bargap=0.15, hovermode="closest",
                      meta={"training": {
                          "p": p, "last": last, "start": start, "epoch": epochs, "phase": list(frames["phase"]),
                          "bits": [_b64(row) for row in frames["correct_bits"]], "train": _b64(frames["train_bits"]),
                          "series": [series[k] for k in SERIES_STYLE],
                          "we": [_sig(row) for row in frames["W_E_freq_norms"]],
                          "wl": [_sig(row) for row in frames["W_L_freq_norms"]],
                          "names": names}})
    fig = _layout(fig, training_title(epochs[start], last, frames["phase"][start]), height=int(3.1 * HEIGHT))
    fig.update_layout(margin={"t": 110})
    return fig


# The training explorer's controls, added above the figure: a slider over the frames and
# play / step buttons (no easing: each frame is drawn as it is). Every frame redraws the
# table from its packed bits, the two norm bars, the markers, the cursor and the title.
TRAINING_SCRIPT = """
var gd = document.getElementById('{plot_id}');
var m = gd.layout.meta.training, p = m.p, n = m.epoch.length, TABLE = 5;
function bytes(s) { var b = atob(s.replace(/-/g, '+').replace(/_/g, '/')), out = new Uint8Array(b.length);
  for (var i = 0; i < b.length; i++) { out[i] = b.charCodeAt(i); } return out; }
function bit(buf, i) { return (buf[i >> 3] >> (7 - (i & 7))) & 1; }
var train = bytes(m.train);
var box = document.createElement('div');
box.className = 'training-controls';
box.innerHTML = '<button type="button" class="tc-play" aria-label="play">&#9654; play</button>' +
  '<button type="button" class="tc-prev" aria-label="previous checkpoint">&#9664;</button>' +
  '<button type="button" class="tc-next" aria-label="next checkpoint">&#9654;</button>' +
  '<input type="range" class="tc-slider" min="0" max="' + (n - 1) + '" step="1" value="' + m.start +
  '" aria-label="checkpoint">' + '<span class="tc-label" aria-live="polite"></span>';
gd.parentNode.insertBefore(box, gd);
var slider = box.querySelector('.tc-slider'), label = box.querySelector('.tc-label');
var play = box.querySelector('.tc-play'), timer = null;
function title(f) { return 'Epoch ' + m.epoch[f].toLocaleString('en-US') + ' of ' +
  m.last.toLocaleString('en-US') + ': ' + m.phase[f]; }
function draw(f) {
  f = Math.max(0, Math.min(n - 1, f));
  slider.value = f;
  var right = bytes(m.bits[f]), z = [], text = [];
  for (var a = 0; a < p; a++) { var zr = [], tr = [];
    for (var b = 0; b < p; b++) { var i = a * p + b, code = 2 * bit(train, i) + bit(right, i);
      zr.push(code); tr.push(m.names[code]); }
    z.push(zr); text.push(tr); }
  var e = m.epoch[f], ys = m.series.map(function (s) { return s[f]; });
  Plotly.update(gd, {x: [[e, e, e, e], undefined, undefined, undefined],
                     y: [ys, undefined, m.we[f], m.wl[f]], z: [undefined, z, undefined, undefined],
                     text: [undefined, text, undefined, undefined]},
                {'title.text': title(f), 'shapes[0].x0': e, 'shapes[0].x1': e}, [4, TABLE, 6, 7]);
  label.textContent = 'epoch ' + e.toLocaleString('en-US');
  gd.setAttribute('data-frame', f);
}
function stop() { if (timer) { clearInterval(timer); timer = null; } play.innerHTML = '&#9654; play'; }
play.addEventListener('click', function () {
  if (timer) { stop(); return; }
  if (+slider.value >= n - 1) { draw(0); }
  play.innerHTML = '&#10074;&#10074; pause';
  timer = setInterval(function () { var f = +slider.value + 1; draw(f); if (f >= n - 1) { stop(); } }, 120);
});
box.querySelector('.tc-prev').addEventListener('click', function () { stop(); draw(+slider.value - 1); });
box.querySelector('.tc-next').addEventListener('click', function () { stop(); draw(+slider.value + 1); });
slider.addEventListener('input', function () { stop(); draw(+slider.value); });
draw(m.start);
"""


# ------------------------------------------------------------------ the phase diagram
def phase_explorer(rows: list[dict]) -> go.Figure:
    """The phase grid, hoverable: each cell's regime and epochs; hovering (or tapping) a cell
    draws its accuracy curves beside it (:data:`PHASE_HOVER_SCRIPT` does the drawing)."""
    fracs = sorted({r["config"]["frac_train"] for r in rows})
    wds = sorted({r["config"]["weight_decay"] for r in rows})
    codes = np.full((len(wds), len(fracs)), np.nan)
    text = [[""] * len(fracs) for _ in wds]
    keys = [[""] * len(fracs) for _ in wds]
    curves = {}
    for r in rows:
        i, j = wds.index(r["config"]["weight_decay"]), fracs.index(r["config"]["frac_train"])
        name = regime(r)
        codes[i, j] = REGIMES.index(name)
        keys[i][j] = key = f"{i},{j}"

        def epoch(value):
            return "never" if value is None else f"{value:,}"

        text[i][j] = (f"{name}<br>train 99% at epoch {epoch(r['epoch_train_99'])}"
                      f"<br>test 99% at epoch {epoch(r['epoch_test_99'])}"
                      f"<br>final test accuracy {r['final_test_acc']:.1%}")
        curve = r["curve"]
        curves[key] = {"label": f"train fraction {r['config']['frac_train']:g}, weight decay "
                                f"{r['config']['weight_decay']:g}: {name}",
                       "epoch": curve["epoch"], "train": curve["train_acc"], "test": curve["test_acc"]}
    n = len(REGIMES)
    scale = [[edge / n, REGIME_COLORS[name]] for i, name in enumerate(REGIMES) for edge in (i, i + 1)]
    # no subplot titles: centred over a phone-narrow panel they run off both sides; the
    # chapter says what to do, the title names the run, the colour bar the regimes
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.2)  # room for the key, 4 rows on a phone
    fig.add_trace(go.Heatmap(
        z=codes, x=[f"{f:g}" for f in fracs], y=[f"{w:g}" for w in wds], text=text, customdata=keys,
        colorscale=scale, zmin=-0.5, zmax=n - 0.5, xgap=2, ygap=2, showscale=False,
        hovertemplate="train fraction %{x}, weight decay %{y}<br>%{text}<extra></extra>"), row=1, col=1)
    first = curves[keys[len(wds) // 2][len(fracs) // 2] or next(iter(curves))]
    fig.add_trace(go.Scatter(x=first["epoch"], y=first["train"], name="train", mode="lines",
                             line={"color": TRAIN_COLOR}), row=2, col=1)
    fig.add_trace(go.Scatter(x=first["epoch"], y=first["test"], name="test", mode="lines",
                             line={"color": TEST_COLOR}), row=2, col=1)
    # the regimes' key: a legend of its own under the grid (a colour bar beside it took a
    # third of a phone's width); these traces come after the ones the hover script redraws
    for name in REGIMES:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, legend="legend2",
                                 marker={"symbol": "square", "size": 13, "color": REGIME_COLORS[name]},
                                 hoverinfo="skip"), row=1, col=1)
    fig.update_xaxes(title_text="train fraction", type="category", row=1, col=1)
    fig.update_yaxes(title_text="weight decay", type="category", row=1, col=1)
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    fig.update_yaxes(title_text="accuracy", range=[-0.02, 1.02], tickformat=".0%", row=2, col=1)
    p = rows[0]["config"]["p"]
    base = f"(a + b) mod {p}"
    fig.update_layout(legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 0.03, "yanchor": "bottom",
                              "bgcolor": "rgba(255,255,255,0.8)"},
                      legend2={"orientation": "v", "x": 0, "xanchor": "left", "y": fig.layout.yaxis.domain[0] - 0.07,
                               "yanchor": "top",
                               "font": {"size": 12}, "itemclick": False, "itemdoubleclick": False},
                      meta={"curves": curves, "shown": first["label"], "title": base})
    return _layout(fig, phase_title(base, first["label"]), height=int(1.8 * HEIGHT))


def phase_title(base: str, label: str) -> str:
    """The phase explorer's title: the task, and under it the run whose curves are shown
    (:data:`PHASE_HOVER_SCRIPT` writes the same for the hovered run)."""
    return f"{base}<br><span style='font-size:13px'>{label}</span>"


# Hovering or tapping a cell of the phase explorer redraws the curves panel (traces 1 and 2)
# from the curves the figure carries in layout.meta, and names the run in the title.
PHASE_HOVER_SCRIPT = """
var gd = document.getElementById('{plot_id}');
function show(points) {
  var key = points[0].customdata, c = gd.layout.meta.curves[key];
  if (!c || gd.layout.meta.shown === c.label) { return; }
  gd.layout.meta.shown = c.label;
  Plotly.update(gd, {x: [c.epoch, c.epoch], y: [c.train, c.test]},
                {'title.text': gd.layout.meta.title + "<br><span style='font-size:13px'>" + c.label + '</span>'},
                [1, 2]);
}
gd.on('plotly_hover', function (e) { if (e.points[0].curveNumber === 0) { show(e.points); } });
gd.on('plotly_click', function (e) { if (e.points[0].curveNumber === 0) { show(e.points); } });
"""


def page_html(fig: go.Figure, post_script: str | None = None) -> str:
    """The HTML a chapter shows for ``fig``: a div and its script, without plotly.js, which
    the site ships once (``_ext/plotly_offline.py``) and loads on the pages that need it."""
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, config=CONFIG,
                       post_script=post_script, default_width="100%", default_height=f"{fig.layout.height}px")


def figure_json(fig: go.Figure) -> dict:
    """The figure as Plotly's JSON (for tests: what the page will draw)."""
    return json.loads(fig.to_json())
