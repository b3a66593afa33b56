"""
Turn benchmark results into Markdown, JSON, a chart and the README section.
"""

import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess

README_BEGIN = "<!-- benchmark-results:begin (written by benchmarks/run.py) -->"
README_END = "<!-- benchmark-results:end -->"

CEILINGS = ("raw", "raw-join")
PEERS = ("autobahn", "twisted.web", "websockets", "picows")
SUBJECT = "twisted_ws"
#: twisted_ws's twistd echo server with C{--metrics} on: not a peer, the
#: subject with its counters; compared with the subject in a table of its own.
METRICS_SUBJECT = "twisted_ws-metrics"
#: The same server logging each connection (no C{--quiet}): compared with
#: the subject (which runs with C{--quiet}) in a table of its own.
LOGGING_SUBJECT = "twisted_ws-logging"


def machineInfo(pinning, fileLimit):
    """
    Describe the machine and the software measured.

    @param pinning: how processes were pinned to cores.
    @param fileLimit: the client's open file limit.
    @return: a JSON-able dict.
    """
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in ("twisted", "autobahn", "txaio", "websockets", "wsproto", "twisted_ws"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=here,
                timeout=10,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.TimeoutExpired):
        commit = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "coresAvailable": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "versions": versions,
        "commit": commit,
        "pinning": pinning,
        "fileLimit": fileLimit,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def formatValue(value, unit):
    """
    @return: C{value} for a table cell.
    """
    if value is None:
        return "-"
    if unit in ("MB/s", "KiB/conn"):
        return "%.1f" % (value,) if value < 1000 else f"{value:,.0f}"
    if unit == "us":
        return "%.0f" % (value,) if value >= 100 else "%.1f" % (value,)
    if value >= 1e6:
        return "%.2fM" % (value / 1e6,)
    if value >= 1e4:
        return "%.1fk" % (value / 1e3,)
    return f"{value:,.0f}"


def describeOutcome(workload, outcome):
    """
    @return: one progress line for a finished measurement.
    """
    parts = []
    for key, metric in workload.metrics:
        parts.append("%s %s" % (formatValue(outcome.values[key], metric.unit), metric.unit))
    line = ", ".join(parts)
    if outcome.serverCpu is not None:
        line += "  (cpu: server %.0f%%, client %.0f%%, others %s)" % (
            outcome.serverCpu,
            outcome.clientCpu,
            "?" if outcome.otherCpu is None else "%.0f%%" % (outcome.otherCpu,),
        )
    return line


def relative(value, reference, higherIsBetter):
    """
    Performance of C{value} relative to C{reference}: above 1 means better.
    """
    if not value or not reference:
        return None
    return value / reference if higherIsBetter else reference / value


def summarize(cell):
    """
    @return: median, spread and CPU figures of one table cell.
    """
    values = cell["values"]
    perCpu = [v / (c / 100.0) for v, c in zip(values, cell["serverCpu"], strict=False) if c > 1.0]
    if len(perCpu) != len(values):
        perCpu = []
    return {
        "perServerCpuSecond": perCpu,
        "perServerCpuSecondMedian": statistics.median(perCpu) if perCpu else None,
        "values": values,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "serverCpuMedian": statistics.median(cell["serverCpu"]) if cell["serverCpu"] else None,
        "clientCpuMedian": statistics.median(cell["clientCpu"]) if cell["clientCpu"] else None,
        "otherCpuMedian": statistics.median(cell["otherCpu"]) if cell["otherCpu"] else None,
        "otherCpuValues": cell["otherCpu"],
        "notes": cell["notes"],
    }


def buildDocument(machine, config, servers, workloads, results, errors):
    """
    Summarize the results and render the Markdown report.

    @return: a JSON-able dict; C{"markdown"} holds the rendered report.
    """
    labels = {s.name: s.label for s in servers}
    metrics = []
    for workload in workloads:
        for _, metric in workload.metrics:
            metrics.append(metric)
    summary = {}
    for metric in metrics:
        row = {}
        for name, cell in results.get(metric.name, {}).items():
            if cell["values"]:
                row[name] = summarize(cell)
        summary[metric.name] = {
            "label": metric.label,
            "unit": metric.unit,
            "higherIsBetter": metric.higherIsBetter,
            "servers": row,
        }
    order = [s.name for s in servers]
    document = {
        "machine": machine,
        "config": config,
        "servers": {s.name: {"label": s.label, "note": s.note} for s in servers},
        "order": order,
        "metrics": [m.name for m in metrics],
        "results": summary,
        "errors": errors,
    }
    document["markdown"] = renderMarkdown(document, labels)
    return document


def _ceiling(row, higherIsBetter):
    best = None
    for name in CEILINGS:
        if name in row:
            value = row[name]["median"]
            if best is None or (value > best if higherIsBetter else value < best):
                best = value
    return best


def renderMarkdown(document, labels):
    """
    @return: the report as Markdown.
    """
    machine = document["machine"]
    config = document["config"]
    order = document["order"]
    results = document["results"]
    lines = []
    v = machine["versions"]
    lines.append(
        "Measured %s on %s (%s cores, %s), Linux %s, %s %s; %s. "
        "Twisted %s, autobahn %s, websockets %s, wsproto %s, twisted_ws %s (commit %s)."
        % (
            machine["date"],
            machine["cpu"],
            machine["cores"],
            machine["pinning"],
            machine["kernel"],
            machine["implementation"],
            machine["python"],
            "%s mode, %d round(s) of %.1f s windows, servers interleaved"
            % (config["mode"], config["rounds"], config["duration"]),
            v.get("twisted"),
            v.get("autobahn"),
            v.get("websockets"),
            v.get("wsproto"),
            v.get("twisted_ws"),
            machine["commit"],
        )
    )
    lines.append("")
    load = [
        x
        for row in results.values()
        for cell in row["servers"].values()
        for x in cell.get("otherCpuValues", [])
    ]
    lines.append("Command: `%s`." % (config["command"].strip(),))
    if load:
        lines.append(
            "Other processes on the machine used a median of %.0f %% of a core (max %.0f %%) "
            "during the measurement windows%s."
            % (
                statistics.median(load),
                max(load),
                ": the machine was shared, so absolute figures are noisy (see the spread); the "
                "per-CPU-second table is steadier"
                if statistics.median(load) > 25
                else "",
            )
        )
    lines.append("")
    for name, reason in config["skipped"].items():
        lines.append("- **%s skipped**: %s" % (name, reason))
    for name in order:
        note = document["servers"][name]["note"]
        if note:
            lines.append("- %s: %s" % (name, note))
    if config["skipped"] or any(document["servers"][n]["note"] for n in order):
        lines.append("")

    lines.append("Median over rounds, min-max in brackets.")
    lines.append("")
    header = ["workload", "unit"] + [labels[n] for n in order]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["--:"] * len(order)) + "|")
    for name in document["metrics"]:
        row = results[name]
        cells = [
            row["label"],
            row["unit"] + ("" if row["higherIsBetter"] else " (lower is better)"),
        ]
        for server in order:
            s = row["servers"].get(server)
            if s is None:
                cells.append(
                    "n/a"
                    if server == "raw-join"
                    else "**failed**"
                    if _failed(document, name, server)
                    else "-"
                )
            elif len(s["values"]) > 1:
                cells.append(
                    "%s (%s-%s)"
                    % (
                        formatValue(s["median"], row["unit"]),
                        formatValue(s["min"], row["unit"]),
                        formatValue(s["max"], row["unit"]),
                    )
                )
            else:
                cells.append(formatValue(s["median"], row["unit"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")

    others = [n for n in order if n not in CEILINGS]
    if any(n in order for n in CEILINGS) and others:
        lines.append(
            "Relative to the raw Twisted TCP ceiling (best Int32 variant of the row; "
            "above 1 is better than the ceiling, for every row including latency and memory):"
        )
        lines.append("")
        lines.append("| workload | " + " | ".join(labels[n] for n in others) + " |")
        lines.append("|---|" + "|".join(["--:"] * len(others)) + "|")
        for name in document["metrics"]:
            row = results[name]
            ceiling = _ceiling(row["servers"], row["higherIsBetter"])
            cells = [row["label"]]
            for server in others:
                s = row["servers"].get(server)
                r = relative(s["median"], ceiling, row["higherIsBetter"]) if s else None
                cells.append("-" if r is None else "%.2fx" % (r,))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

    peers = [n for n in order if n in PEERS]
    if SUBJECT in order and peers:
        lines.append("twisted_ws relative to each peer (above 1: twisted_ws is better):")
        lines.append("")
        lines.append("| workload | " + " | ".join("vs " + labels[n] for n in peers) + " |")
        lines.append("|---|" + "|".join(["--:"] * len(peers)) + "|")
        for name in document["metrics"]:
            row = results[name]
            subject = row["servers"].get(SUBJECT)
            cells = [row["label"]]
            for peer in peers:
                p = row["servers"].get(peer)
                r = (
                    relative(subject["median"], p["median"], row["higherIsBetter"])
                    if subject and p
                    else None
                )
                cells.append("-" if r is None else "%.2fx" % (r,))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

    lines.extend(metricsCostTable(document))
    lines.extend(loggingCostTable(document))
    lines.extend(compressionCostTable(document, labels))

    efficient = [
        n
        for n in document["metrics"]
        if results[n]["higherIsBetter"]
        and any(s.get("perServerCpuSecondMedian") for s in results[n]["servers"].values())
    ]
    if efficient:
        lines.append(
            "Throughput per second of server CPU time (the row's value divided by the server's "
            "share of a core; median over rounds). Less sensitive to other load on a shared "
            "machine; it measures efficiency, not speed (time a server spent waiting is not counted):"
        )
        lines.append("")
        lines.append("| workload | unit | " + " | ".join(labels[n] for n in order) + " |")
        lines.append("|---|---|" + "|".join(["--:"] * len(order)) + "|")
        for name in efficient:
            row = results[name]
            cells = [row["label"], row["unit"].replace("/s", "") + " per CPU-s"]
            for server in order:
                s = row["servers"].get(server)
                value = s.get("perServerCpuSecondMedian") if s else None
                cells.append("-" if value is None else formatValue(value, row["unit"]))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

    lines.append(
        "CPU use during the measurement window, median, in % of one core: "
        "server / client / every other process on the machine. The client is not the "
        "bottleneck where it stays well below 100 %; a server below 100 % was waiting "
        "(a batch's round trip) or sharing its core with other processes."
    )
    lines.append("")
    lines.append("| workload | " + " | ".join(labels[n] for n in order) + " |")
    lines.append("|---|" + "|".join(["--:"] * len(order)) + "|")
    seen = set()
    for name in document["metrics"]:
        row = results[name]
        if name.startswith("latency_p99") or name in seen:
            continue
        seen.add(name)
        if not any(s["serverCpuMedian"] is not None for s in row["servers"].values()):
            continue
        cells = [row["label"].replace(", median round trip", "")]
        for server in order:
            s = row["servers"].get(server)
            if s is None or s["serverCpuMedian"] is None:
                cells.append("-")
            else:
                cells.append(
                    "%.0f / %.0f / %s"
                    % (
                        s["serverCpuMedian"],
                        s["clientCpuMedian"],
                        "?" if s["otherCpuMedian"] is None else "%.0f" % (s["otherCpuMedian"],),
                    )
                )
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    notes = []
    for name in document["metrics"]:
        for server, s in results[name]["servers"].items():
            for note in s["notes"]:
                notes.append("- %s / %s: %s" % (name, server, note))
    if document["errors"]:
        lines.append("Failures:")
        lines.append("")
        for e in document["errors"]:
            first = " | ".join(line.strip() for line in e["error"].strip().splitlines()[:3])
            first = first[:300] or "?"
            lines.append("- round %d, %s, %s: %s" % (e["round"], e["workload"], e["server"], first))
        lines.append("")
    if notes:
        lines.extend(notes)
        lines.append("")
    return "\n".join(lines)


def _failed(document, metric, server):
    workload = metric.split("_")[0]
    return any(e["server"] == server and e["workload"] == workload for e in document["errors"])


def drawChart(document, path):
    """
    Draw one bar chart per metric: median per server, min-max as error bars.

    @return: C{True} if the chart was written (matplotlib is installed).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    names = [n for n in document["metrics"] if document["results"][n]["servers"]]
    if not names:
        return False
    order = document["order"]
    colors = {
        "raw": "#9e9e9e",
        "raw-join": "#cfcfcf",
        "autobahn": "#4c72b0",
        "twisted.web": "#dd8452",
        "websockets": "#55a868",
        "twisted_ws": "#c44e52",
        METRICS_SUBJECT: "#e8a0a2",
        LOGGING_SUBJECT: "#8c3a3c",
    }
    columns = 3
    rows = (len(names) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        row = document["results"][name]
        present = [s for s in order if s in row["servers"]]
        medians = [row["servers"][s]["median"] for s in present]
        low = [row["servers"][s]["median"] - row["servers"][s]["min"] for s in present]
        high = [row["servers"][s]["max"] - row["servers"][s]["median"] for s in present]
        ax.bar(
            range(len(present)),
            medians,
            yerr=[low, high],
            capsize=3,
            color=[colors.get(s, "#8172b3") for s in present],
        )
        ax.set_xticks(range(len(present)))
        ax.set_xticklabels(present, rotation=30, ha="right", fontsize=8)
        better = "higher" if row["higherIsBetter"] else "lower"
        ax.set_title("%s\n%s (%s is better)" % (row["label"], row["unit"], better), fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        ax.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(
                lambda y, _: "%gk" % (y / 1000.0,) if y >= 10000 else "%g" % (y,)
            )
        )
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    machine = document["machine"]
    fig.suptitle(
        "twisted_ws benchmarks, %s, %s (%s cores), Python %s; median and min-max"
        % (machine["date"], machine["cpu"], machine["cores"], machine["python"]),
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def writeAll(document, outDir, updateReadme, readmePath):
    """
    Write C{latest.md}, C{latest.json} and C{latest.png} to C{outDir}; if
    asked, rewrite the README's results section.

    @return: the paths written.
    """
    paths = []
    png = os.path.join(outDir, "latest.png")
    charted = drawChart(document, png)
    md = os.path.join(outDir, "latest.md")
    with open(md, "w") as f:
        f.write("# twisted_ws benchmark results\n\n" + document["markdown"])
        if charted:
            f.write("\n![chart](latest.png)\n")
    paths.append(md)
    js = os.path.join(outDir, "latest.json")
    with open(js, "w") as f:
        json.dump({k: v for k, v in document.items() if k != "markdown"}, f, indent=1)
        f.write("\n")
    paths.append(js)
    if charted:
        paths.append(png)
    if updateReadme:
        rewriteReadme(
            readmePath, document["markdown"] + "\n![benchmark chart](results/latest.png)\n"
        )
        paths.append(readmePath)
    return paths


def rewriteReadme(path, section):
    """
    Replace the text between the result markers of the README.
    """
    with open(path) as f:
        text = f.read()
    start = text.find(README_BEGIN)
    end = text.find(README_END)
    if start < 0 or end < start:
        text = text.rstrip("\n") + "\n\n" + README_BEGIN + "\n" + README_END + "\n"
        start = text.find(README_BEGIN)
        end = text.find(README_END)
    text = text[: start + len(README_BEGIN)] + "\n" + section.strip("\n") + "\n" + text[end:]
    with open(path, "w") as f:
        f.write(text)


def metricsCostTable(document):
    """
    @return: the Markdown lines of the table that compares twisted_ws with
        metrics on to twisted_ws without, row by row (throughput, and per
        second of server CPU, where both ran); no lines if they did not both
        run.
    """
    return _costTable(
        document,
        METRICS_SUBJECT,
        "twisted_ws with `--metrics` on relative to off (1.00x: counting costs nothing; "
        "the per-CPU-second column is the steadier one on a shared machine):",
        "metrics on / off",
    )


def loggingCostTable(document):
    """
    @return: the Markdown lines of the table that compares twisted_ws
        logging each connection (its default) to twisted_ws with C{--quiet},
        as L{metricsCostTable} does; no lines if they did not both run.
    """
    return _costTable(
        document,
        LOGGING_SUBJECT,
        "twisted_ws logging each connection (the default) relative to `--quiet` "
        "(1.00x: the log lines cost nothing):",
        "logging on / quiet",
    )


#: Rows measured with permessage-deflate, each with the row that sends the
#: same messages uncompressed.
COMPRESSED_PAIRS = (("deflatebroadcast", "jsonbroadcast"),)


def compressionCostTable(document, labels):
    """
    @return: the Markdown lines of the table that compares each server's
        compressed row with its own uncompressed row of the same messages
        (L{COMPRESSED_PAIRS}), where both ran; no lines otherwise.
    """
    results = document["results"]
    lines = []
    for compressed, plain in COMPRESSED_PAIRS:
        if compressed not in results or plain not in results:
            continue
        on, off = results[compressed], results[plain]
        for name in document["order"]:
            a, b = on["servers"].get(name), off["servers"].get(name)
            if not (a and b):
                continue
            if not lines:
                lines = [
                    "Compressed relative to the same messages uncompressed, each server against "
                    "itself (1.00x: compression costs nothing):",
                    "",
                    "| workload | server | compressed / uncompressed | per server CPU-s |",
                    "|---|---|--:|--:|",
                ]
            r = relative(a["median"], b["median"], True)
            aCpu, bCpu = a.get("perServerCpuSecondMedian"), b.get("perServerCpuSecondMedian")
            rc = relative(aCpu, bCpu, True) if aCpu and bCpu else None
            lines.append(
                "| %s | %s | %s | %s |"
                % (
                    on["label"],
                    labels.get(name, name),
                    "-" if r is None else "%.2fx" % (r,),
                    "-" if rc is None else "%.2fx" % (rc,),
                )
            )
    if lines:
        lines.append("")
    return lines


def _costTable(document, subject, title, heading):
    """
    @return: the Markdown lines of a table of C{subject} relative to
        twisted_ws, row by row, where both ran.
    """
    results = document["results"]
    pairs = []
    for name in document["metrics"]:
        row = results[name]
        on = row["servers"].get(subject)
        off = row["servers"].get(SUBJECT)
        if on and off:
            pairs.append((row, on, off))
    if not pairs:
        return []
    lines = [
        title,
        "",
        "| workload | %s | per server CPU-s |" % (heading,),
        "|---|--:|--:|",
    ]
    for row, on, off in pairs:
        r = relative(on["median"], off["median"], row["higherIsBetter"])
        onCpu, offCpu = on.get("perServerCpuSecondMedian"), off.get("perServerCpuSecondMedian")
        rc = (
            relative(onCpu, offCpu, True)
            if row["higherIsBetter"] and onCpu and offCpu
            else None
        )
        lines.append(
            "| %s | %s | %s |"
            % (
                row["label"],
                "-" if r is None else "%.2fx" % (r,),
                "-" if rc is None else "%.2fx" % (rc,),
            )
        )
    lines.append("")
    return lines
