#!/usr/bin/env python3
"""The MajorDomo's web page in a real browser (issue 16).

Against a `cp up --no-build` on a copy of examples/latex-paper: the project is listed without
being added; Build starts a build whose tasks change state live and whose cycle ends
"converged in 3 passes"; a task's log holds pdflatex's output; the graph's drawing holds a
cluster and coloured nodes; a node shows its task; an edit of refs.bib on disk brings a new
build without reloading; a failing task's first error is highlighted; axe-core finds no
serious violation; at 200 % zoom nothing scrolls sideways; no layout shift while events
arrive. Against a MajorDomo with a token: a wrong token is refused, the right one let in.

Every wait has a deadline; a failure prints one line saying what was not seen and exits 1.
"""

import argparse
import json
import os
import re
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

DEADLINE = 180.0


class Failure(Exception):
    pass


def wait(driver, what, predicate, deadline=DEADLINE):
    """Polls `predicate(driver)` until it is truthy; fails naming `what`."""
    end = time.monotonic() + deadline
    last_error = None
    while time.monotonic() < end:
        try:
            value = predicate(driver)
            if value:
                return value
        except Exception as error:  # the page may be between two renders
            last_error = error
        time.sleep(0.1)
    raise Failure(f"not seen within {deadline:.0f} s: {what}" + (f" (last error: {last_error})" if last_error else ""))


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def one(driver, selector):
    found = css(driver, selector)
    return found[0] if found else None


def click(driver, selector, what):
    """Clicks the element `selector` finds, again if the page re-rendered it meanwhile."""

    def attempt(d):
        element = one(d, selector)
        if element is None:
            return False
        element.click()
        return True

    wait(driver, what, attempt)


def check_accessibility(driver, axe, where, report):
    driver.execute_script(axe)
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']}).then((r) => done(r.violations), (e) => done(String(e)));
        """
    )
    if isinstance(result, str):
        raise Failure(f"axe-core failed on the {where} page: {result}")
    serious = [v for v in result if v.get("impact") in ("serious", "critical")]
    named = ", ".join(f"{v['id']} ({v['impact']})" for v in result)
    report.append(f"axe-core on the {where} page: {len(result)} violations{': ' + named if named else ''}; {len(serious)} serious or critical")
    if serious:
        details = "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}" for v in serious)
        raise Failure(f"axe-core finds serious violations on the {where} page: {details}")


def check_zoom(driver, where, report):
    """At 200 % zoom (a 1280-pixel window is 640 CSS pixels wide) nothing scrolls sideways."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 640, "height": 800, "deviceScaleFactor": 2, "mobile": False}
    )
    try:
        widths = wait(
            driver,
            "the page laid out at 640 CSS pixels",
            lambda d: d.execute_script(
                "return window.innerWidth <= 660 ? [document.documentElement.scrollWidth, document.documentElement.clientWidth] : null"
            ),
            deadline=10,
        )
        report.append(f"200 % zoom on the {where} page: content {widths[0]} px in a {widths[1]} px viewport")
        if widths[0] > widths[1] + 1:
            raise Failure(f"at 200 % zoom the {where} page scrolls sideways ({widths[0]} px in {widths[1]} px)")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def start_browser(args):
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 "--disable-gpu", "--no-first-run", "--disable-extensions", "--lang=en-US"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
    driver.set_script_timeout(60)
    return driver


def browser_errors(driver):
    """The page's console errors (an uncaught exception in a module shows here); the browser's
    own notes of an HTTP error status are not the page's (a 401 before the token is expected)."""
    try:
        return [
            entry["message"]
            for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
        ]
    except Exception:
        return []


def test_build_page(driver, args, axe, report):
    url = args.url.rstrip("/")
    driver.get(url + "/")
    project = wait(driver, "the project 'latex-paper' listed", lambda d: one(d, "li.project[data-project='latex-paper']"))
    report.append("the project is listed without being added")
    # Layout shifts and a marker a reload would lose, from here on.
    driver.execute_script(
        """
        window.__cp = {shift: 0, states: {}, cycles: []};
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cp.shift += entry.value;
        }).observe({type: 'layout-shift', buffered: false});
        new MutationObserver(() => {
          for (const row of document.querySelectorAll('tr.task')) {
            const seen = window.__cp.states[row.dataset.task] || (window.__cp.states[row.dataset.task] = []);
            if (seen[seen.length - 1] !== row.dataset.state) seen.push(row.dataset.state);
          }
          const status = document.querySelector('.cycle-status');
          if (status && window.__cp.cycles[window.__cp.cycles.length - 1] !== status.textContent) window.__cp.cycles.push(status.textContent);
        }).observe(document.getElementById('main'), {subtree: true, childList: true, attributes: true, characterData: true});
        """
    )
    check_accessibility(driver, axe, "projects", report)
    check_zoom(driver, "projects", report)
    click(driver, "li.project[data-project='latex-paper'] button.build-button", "the project's Build button")
    wait(driver, "the build page", lambda d: d.execute_script("return location.hash.startsWith('#/build/')"))
    build_id = driver.execute_script("return location.hash.split('/')[2]")
    wait(
        driver,
        "the build to succeed",
        lambda d: (one(d, "#build-summary[data-state='succeeded']") or (_ for _ in ()).throw(Failure("the build failed"))
                   if one(d, "#build-summary[data-state='failed']") else one(d, "#build-summary[data-state='succeeded']")),
    )
    status = wait(driver, "the cycle's end", lambda d: (lambda s: s if s and s.text.startswith("converged") else None)(one(d, ".cycle-status")))
    if status.text != "converged in 3 passes":
        raise Failure(f"the cycle ended '{status.text}', not 'converged in 3 passes'")
    seen = driver.execute_script("return window.__cp")
    states = seen["states"]
    report.append(f"task states seen live: {json.dumps(states)}; cycle: {' → '.join(seen['cycles'])}")
    if not any("running" in history and history[-1] == "succeeded" for history in states.values()):
        raise Failure(f"no task was seen running and then succeeded without a reload: {states}")
    if not any(text.startswith("pass ") for text in seen["cycles"]):
        raise Failure(f"the cycle's passes were not shown as they ran: {seen['cycles']}")
    rows = css(driver, "tbody.cycle tr.task")
    if len(rows) != 2:
        raise Failure(f"the cycle's group holds {len(rows)} tasks, not 2")
    bars = css(driver, "#timeline .bar.running")
    if len(bars) < 5:
        raise Failure(f"the timeline shows {len(bars)} running bars, not the build's 5 jobs")
    report.append(f"build {build_id}: converged in 3 passes, {len(bars)} runs on the timeline")
    # The log of pdflatex.
    click(driver, "tr.task[data-task='paper'] button.log-button", "the log button of 'paper'")
    wait(
        driver,
        "pdflatex's output in the log of 'paper'",
        lambda d: "This is pdfTeX" in (one(d, "#log[data-task='paper'] #log-lines").text or ""),
    )
    report.append("the log of 'paper' shows pdflatex's output")
    shift = driver.execute_script("return window.__cp.shift")
    report.append(f"cumulative layout shift while the build ran: {shift:.4f}")
    if shift > 0.1:
        raise Failure(f"the page's layout jumped as events came (cumulative layout shift {shift:.3f} > 0.1)")
    check_accessibility(driver, axe, "build", report)
    check_zoom(driver, "build", report)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(os.path.join(args.shots, "build.png"))
    return build_id


def test_graph(driver, args, axe, report):
    driver.execute_script("location.hash = '#/graph/latex-paper'")
    wait(driver, "the graph's drawing with a cluster", lambda d: one(d, "#graph svg g.cluster"))
    wait(driver, "a task node coloured by its state", lambda d: one(d, "#graph g.node[data-task='paper'][data-state='succeeded']"))
    node = one(driver, "#graph g.node[data-task='bibliography']")
    # By keyboard: focus the node and press Enter.
    driver.execute_script("arguments[0].focus()", node)
    node.send_keys(Keys.ENTER)
    wait(driver, "the task's details", lambda d: "bibtex" in (one(d, "#node-details").text or "") and "Last runs" in one(d, "#node-details").text)
    click(driver, "#graph g.node[data-artefact='refs.bib']", "the node of refs.bib")
    wait(driver, "the file's sha256", lambda d: "sha256" in (one(d, "#node-details").text or "") and "bytes" in one(d, "#node-details").text)
    report.append("the graph holds a cluster; nodes coloured; a task and a file shown (by keyboard and by click)")
    check_accessibility(driver, axe, "graph", report)
    click(driver, "#graph g.node[data-task='paper']", "the node of paper")
    wait(driver, "the task's details", lambda d: "pdflatex" in (one(d, "#node-details").text or "") and "Last runs" in one(d, "#node-details").text)
    driver.save_screenshot(os.path.join(args.shots, "graph.png"))


def newest_build(driver, trigger, previous):
    """The newest build of `trigger` in the project's list that is not in `previous`, read in
    one step in the page (the list is redrawn as events come): {id, state, text} or None."""
    return driver.execute_script(
        """
        const rows = [...document.querySelectorAll(`#project-builds tr.build[data-trigger='${arguments[0]}']`)]
          .filter((row) => !arguments[1].includes(row.dataset.build));
        return rows.length ? {id: rows[0].dataset.build, state: rows[0].dataset.state, text: rows[0].textContent} : null;
        """,
        trigger,
        list(previous),
    )


def build_ids(driver):
    return driver.execute_script("return [...document.querySelectorAll('#project-builds tr.build')].map((row) => row.dataset.build)")


def test_changes(driver, args, report):
    driver.execute_script("location.hash = '#/project/latex-paper'")
    wait(driver, "the project's builds", lambda d: one(d, "#project-builds tr.build"))
    before = build_ids(driver)
    driver.execute_script("window.__cpNotReloaded = true")
    with open(os.path.join(args.project_dir, "refs.bib"), "a") as bib:
        bib.write("\n% an edit made by the browser test\n")
    build = wait(driver, "a build of the change to refs.bib", lambda d: newest_build(d, "change", before))
    if "refs.bib" not in build["text"]:
        raise Failure(f"the new build does not name refs.bib: {build['text']}")
    wait(driver, "the change's build to end",
         lambda d: (newest_build(d, "change", before) or {}).get("state") in ("succeeded", "failed", "cancelled"))
    if not driver.execute_script("return window.__cpNotReloaded === true"):
        raise Failure("the page reloaded to show the new build")
    report.append("an edit of refs.bib on disk brought a new build, shown without reloading")
    # A failing task: an undefined control sequence in paper.tex.
    before = build_ids(driver)
    path = os.path.join(args.project_dir, "paper.tex")
    with open(path) as tex:
        text = tex.read()
    with open(path + ".new", "w") as tex:
        tex.write(text.replace("\\begin{document}", "\\begin{document}\n\\thisIsNotACommand", 1))
    os.replace(path + ".new", path)
    failed = wait(driver, "a failed build of the broken paper.tex",
                  lambda d: (lambda b: b if b and b["state"] == "failed" else None)(newest_build(d, "change", before)))
    click(driver, f"#project-builds tr.build[data-build='{failed['id']}'] a", "the failed build's link")
    wait(driver, "the failed task", lambda d: one(d, "tr.task[data-task='paper'][data-state='failed']"))
    click(driver, "tr.task[data-task='paper'] button.log-button", "the log button of 'paper'")
    first = wait(driver, "the first error highlighted", lambda d: one(d, "#log-lines .error-first"))
    if "Undefined control sequence" not in first.text:
        # pdflatex -file-line-error writes "./paper.tex:13: Undefined control sequence." (else "! Undefined …").
        raise Failure(f"the highlighted line is '{first.text}', not TeX's 'Undefined control sequence.'")
    visible = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(), p = document.getElementById('log-lines').getBoundingClientRect();"
        "return r.top >= p.top - 1 && r.bottom <= p.bottom + 1", first)
    if not visible:
        raise Failure("the first error is not scrolled into view")
    report.append(f"the failing task's first error is highlighted and in view: '{first.text}'")


def test_chefs_and_colours(driver, args, report):
    driver.execute_script("location.hash = '#/chefs'")
    chef = wait(driver, "cp up's Chef, alive", lambda d: one(d, "#chefs tr.chef[data-alive='true']"))
    # (Running of capacity, as of the Chef's last heartbeat: it may still count a job just done.)
    if "pdflatex" not in chef.text or not re.search(r"\b[0-9]+ / [1-9][0-9]*\b", chef.text):
        raise Failure(f"the Chef's row does not show its rules and capacity: {chef.text}")
    # A log line's ANSI colours: the page's own module, in the page.
    html = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import('/ui/dom.js').then((dom) => {
          const line = dom.ansiLine('\\x1b[1;31merror:\\x1b[0m plain \\x1b[32mgreen\\x1b[K');
          done([line.innerHTML, dom.isErrorLine('\\x1b[31m./a.c:3:5: error: x\\x1b[0m'), dom.isErrorLine('all is well')]);
        }, (e) => done(String(e)));
        """
    )
    expected = ['<span class="ansi-fg-red ansi-bold">error:</span> plain <span class="ansi-fg-green">green</span>', True, False]
    if html != expected:
        raise Failure(f"ANSI colours are not rendered as expected: {html}")
    report.append("the Chefs page shows cp up's Chef alive with its rules and capacity; ANSI colours become spans")
    # The page's event reader after the stream ends (here every 2 events, by ?limit=2): it
    # connects again with Last-Event-ID and goes on from the next event, none missed or doubled.
    seen = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import('/ui/api.js').then((api) => {
          const ids = [];
          let connections = 0;
          const feed = api.stream('/events?limit=2', {
            after: 0,
            onEvent(event) {
              ids.push(Number(event.id));
              if (ids.length === 6) { feed.stop(); done({ids, connections}); }
            },
            onState(state) { if (state === 'live') connections += 1; },
          });
        }, (e) => done(String(e)));
        """
    )
    if not isinstance(seen, dict) or seen["ids"] != [1, 2, 3, 4, 5, 6] or seen["connections"] < 3:
        raise Failure(f"the event reader did not resume with Last-Event-ID: {seen}")
    report.append(f"the event reader resumes with Last-Event-ID: events {seen['ids']} over {seen['connections']} connections")


def test_token(driver, args, axe, report):
    driver.execute_script("sessionStorage.clear()")
    driver.get(args.token_url.rstrip("/") + "/")
    wait(driver, "the token page", lambda d: one(d, "#token-form #token"))
    check_accessibility(driver, axe, "token", report)
    field = one(driver, "#token-form #token")
    field.send_keys("not-the-token")
    one(driver, "#token-form button[type='submit']").click()
    wait(driver, "the wrong token refused", lambda d: "refused" in (one(d, "#token-error").text or ""))
    if one(driver, "#projects"):
        raise Failure("a wrong token showed the projects")
    one(driver, "#token-form #token").send_keys(args.token)
    one(driver, "#token-form button[type='submit']").click()
    wait(driver, "the projects after the right token", lambda d: one(d, "#projects"))
    wait(driver, "the event stream live with the token", lambda d: one(d, "#connection[data-state='live']"))
    report.append("the token page refuses a wrong token and lets the right one in")
    if args.add_dir:
        test_add_cancel_remove(driver, args, report)


def test_add_cancel_remove(driver, args, report):
    """On the MajorDomo with no Chef: a project added through the page, its build waiting for a
    Chef, cancelled; the project removed."""
    name = os.path.basename(args.add_dir.rstrip("/"))
    one(driver, "#add-directory").send_keys(args.add_dir)
    click(driver, "#add-project button[type='submit']", "the Add button")
    wait(driver, f"the project '{name}' added and listed", lambda d: one(d, f"li.project[data-project='{name}']"))
    click(driver, f"li.project[data-project='{name}'] button.build-button", "the new project's Build button")
    wait(driver, "a task waiting for a Chef", lambda d: one(d, "tr.task[data-state='waiting']"))
    waiting = wait(driver, "the waiting task's reason", lambda d: one(d, "tr.task[data-state='waiting'] td.reason").text)
    if "waiting for a Chef" not in waiting:
        raise Failure(f"a waiting task says '{waiting}', not that it waits for a Chef")
    click(driver, "#cancel-build", "the Cancel button")
    wait(driver, "the build cancelled", lambda d: one(d, "#build-summary[data-state='cancelled']"))
    driver.execute_script("location.hash = '#/'")
    click(driver, f"li.project[data-project='{name}'] button.remove-project", "the Remove button")
    wait(driver, "the Remove button asking again", lambda d: one(d, f"li.project[data-project='{name}'] button.remove-project[data-confirm='yes']"))
    click(driver, f"li.project[data-project='{name}'] button.remove-project", "the Remove button, again")
    wait(driver, f"the project '{name}' gone", lambda d: one(d, "#projects") and not one(d, f"li.project[data-project='{name}']"))
    report.append(f"a project added through the page; its build waited for a Chef and was cancelled; the project removed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--project-dir", required=True)
    parser.add_argument("--shots", required=True)
    parser.add_argument("--token-url")
    parser.add_argument("--token")
    parser.add_argument("--add-dir", help="a directory to add, build, cancel and remove on the --token-url MajorDomo")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "axe.min.js")) as source:
        axe = source.read()
    os.makedirs(args.shots, exist_ok=True)
    report = []
    driver = start_browser(args)
    try:
        test_build_page(driver, args, axe, report)
        test_graph(driver, args, axe, report)
        test_changes(driver, args, report)
        test_chefs_and_colours(driver, args, report)
        if args.token_url:
            test_token(driver, args, axe, report)
        errors = browser_errors(driver)
        if errors:
            raise Failure(f"the page logged errors: {errors[:3]}")
    except Exception as failure:
        if not isinstance(failure, Failure):
            failure = Failure(f"{type(failure).__name__}: {failure}")
        for line in report:
            print("ok:", line)
        try:
            driver.save_screenshot(os.path.join(args.shots, "failure.png"))
            print("page at the failure:", driver.execute_script("return location.href"), file=sys.stderr)
        except Exception:
            pass
        print(f"webpage: {failure}", file=sys.stderr)
        return 1
    finally:
        driver.quit()
    for line in report:
        print("ok:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
