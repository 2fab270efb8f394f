// One build, live: its tasks with state, Chef, pass and reason; each cycle as a group with
// its passes and how it ended; a timeline of queued and running time per Chef; the log of a
// task, live while it runs, its first error marked.
import { api, path, stream } from './api.js';
import { ansiLine, clock, fill, h, isErrorLine, seconds } from './dom.js';

/** "converged in 3 passes", "pass 2 of ≤5", "oscillates with period 2 (paper.aux)". */
export function cycleText(cycle) {
  const passes = (count) => `${count} pass${count === 1 ? '' : 'es'}`;
  switch (cycle.state) {
    case 'waiting':
      return 'waiting';
    case 'running':
      return `pass ${cycle.pass} of ≤${cycle.maxPasses}`;
    case 'converged':
      return `converged in ${passes(cycle.pass)}`;
    case 'upToDate':
      return 'up to date';
    case 'oscillates':
      return `oscillates with period ${cycle.period}${cycle.changing && cycle.changing.length ? ` (${cycle.changing.join(', ')})` : ''}`;
    case 'notConverged':
      return `did not converge in ${passes(cycle.pass)}${cycle.changing && cycle.changing.length ? ` (still changing: ${cycle.changing.join(', ')})` : ''}`;
    default:
      return `failed in pass ${cycle.pass}`;
  }
}

export async function showBuild(main, id, { listen, onLeave, heading }) {
  let detail = await api(`/builds/${path(id)}`);
  /** Every run seen, by job id (the build keeps each task's last; the events give each pass). */
  const runs = new Map();
  const noteRun = (run) => {
    const key = run.jobId || `${run.task}#${run.pass}`;
    runs.set(key, { ...runs.get(key), ...run });
  };
  detail.tasks.forEach(noteRun);

  const summary = h('section', { id: 'build-summary', 'aria-label': 'Build' });
  const cancel = h('button', { id: 'cancel-build', type: 'button', class: 'danger' }, 'Cancel build');
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await api(`/builds/${path(id)}`, { method: 'DELETE' });
    } catch (error) {
      cancel.textContent = error.message;
    }
  });
  const table = h('table', { id: 'tasks' });
  const timeline = h('div', { id: 'timeline', role: 'img', 'aria-label': 'Timeline of the build: queued and running time per Chef' });
  const logSection = h('section', { id: 'log', 'aria-label': 'Log', hidden: true });
  let openLog = null;

  function renderSummary() {
    const build = detail.build;
    main.dataset.build = build.id;
    summary.dataset.state = build.state;
    fill(
      summary,
      h(
        'p',
        { class: 'summary-line' },
        h('span', { id: 'build-state', class: `badge state-${build.state}` }, build.state),
        ` ${build.project} · ${build.trigger}`,
        build.changedFiles ? ` · ${build.changedFiles.join(', ')}${build.changedCount > build.changedFiles.length ? ` and ${build.changedCount - build.changedFiles.length} more` : ''} changed` : '',
        ` · started ${clock(build.created)}`,
        build.finished ? ` · took ${seconds(build.finished - build.created)}` : '',
        ` · ${build.jobs} jobs${build.considered !== undefined ? ` (${build.considered} tasks considered)` : ''}`,
      ),
      build.failures.length ? h('ul', { class: 'failures' }, build.failures.map((text) => h('li', { class: 'error' }, text))) : null,
      h('p', { class: 'actions' }, h('a', { href: `#/project/${encodeURIComponent(build.project)}` }, `All builds of ${build.project}`), ' ', h('a', { href: `#/graph/${encodeURIComponent(build.project)}` }, 'Graph'), ' ', build.state === 'running' ? cancel : null),
    );
  }

  /** Each task's row, kept while the table's shape stays (focus and scroll stay with it). */
  const rows = new Map();
  let shape = '';

  function taskRow(run) {
    const button = h('button', { type: 'button', class: 'link log-button', 'aria-label': `Log of ${run.task}` }, 'log');
    button.addEventListener('click', () => showLog(run.task));
    const cells = [h('td'), h('td'), h('td', { class: 'number' }), h('td', { class: 'reason' }), h('td', { class: 'number' })];
    const row = h('tr', { class: 'task' }, h('th', { scope: 'row' }, run.task), cells, h('td', {}, button));
    row.cells_ = cells;
    updateRow(row, run);
    rows.set(run.task, row);
    return row;
  }

  function updateRow(row, run) {
    row.dataset.task = run.task;
    row.dataset.state = run.state;
    const [state, chef, pass, reason, took] = row.cells_;
    fill(state, h('span', { class: `badge state-${run.state}` }, run.state));
    chef.textContent = run.chef || '';
    pass.textContent = String(run.pass);
    fill(reason, run.detail ? h('span', { class: 'error' }, run.detail) : run.reason);
    took.textContent = seconds(run.elapsed);
  }

  function renderTasks() {
    const cycles = detail.build.cycles || [];
    const now = JSON.stringify([cycles.map((cycle) => cycle.tasks), detail.tasks.map((run) => run.task)]);
    if (now === shape) {
      for (const run of detail.tasks) updateRow(rows.get(run.task), run);
      table.querySelectorAll('tbody.cycle').forEach((group, index) => {
        group.dataset.state = cycles[index].state;
        const status = group.querySelector('.cycle-status');
        status.className = `cycle-status cycle-${cycles[index].state}`;
        status.textContent = cycleText(cycles[index]);
      });
      return;
    }
    shape = now;
    rows.clear();
    const inCycle = new Map();
    cycles.forEach((cycle, index) => cycle.tasks.forEach((task) => inCycle.set(task, index)));
    const plain = detail.tasks.filter((run) => !inCycle.has(run.task));
    const groups = cycles.map((cycle, index) => {
      const members = detail.tasks.filter((run) => inCycle.get(run.task) === index);
      return h(
        'tbody',
        { class: 'cycle', dataset: { cycle: String(index + 1), state: cycle.state } },
        h(
          'tr',
          { class: 'cycle-heading' },
          h(
            'th',
            { colspan: 7, scope: 'rowgroup' },
            `Cycle ${index + 1}: ${cycle.tasks.join(' ⇄ ')} — `,
            h('span', { class: `cycle-status cycle-${cycle.state}` }, cycleText(cycle)),
          ),
        ),
        members.map(taskRow),
      );
    });
    fill(
      table,
      h('caption', {}, 'Tasks'),
      h('thead', {}, h('tr', {}, ['Task', 'State', 'Chef', 'Pass', 'Why it ran', 'Took', 'Log'].map((text) => h('th', { scope: 'col' }, text)))),
      groups,
      h('tbody', { class: 'plain' }, plain.map(taskRow)),
    );
  }

  /** Labels that do not fit their bar are dropped (clipped text is unreadable). */
  function dropCrampedLabels() {
    for (const label of timeline.querySelectorAll('.bar-label')) {
      if (label.scrollWidth > label.clientWidth + 1) label.remove();
    }
  }

  function renderTimeline() {
    const all = [...runs.values()].filter((run) => run.queued);
    if (all.length === 0) {
      fill(timeline, h('p', { class: 'muted' }, 'No job has gone out yet.'));
      return;
    }
    const start = Math.min(...all.map((run) => run.queued));
    const now = Date.now() / 1000;
    const end = Math.max(start + 0.001, ...all.map((run) => run.ended || (detail.build.state === 'running' ? now : run.started || run.queued)));
    const span = end - start;
    const lanes = new Map();
    for (const run of all.sort((a, b) => a.queued - b.queued)) {
      const lane = run.chef || 'not known yet';
      if (!lanes.has(lane)) lanes.set(lane, []);
      lanes.get(lane).push(run);
    }
    const place = (element, from, to) => {
      element.style.left = `${((from - start) / span) * 100}%`;
      element.style.width = `${Math.max(0.3, ((to - from) / span) * 100)}%`;
      return element;
    };
    fill(
      timeline,
      h('h2', {}, `Timeline (${seconds(span)}; light: queued, dark: running)`),
      [...lanes.entries()].map(([lane, list]) =>
        h(
          'div',
          { class: 'lane' },
          h('span', { class: 'lane-name' }, lane),
          h(
            'div',
            { class: 'lane-bars' },
            list.map((run) => {
              const running = run.started || (run.state === 'running' ? null : run.ended);
              const finish = run.ended || now;
              const title = `${run.task} (pass ${run.pass}): ${run.state}`;
              return [
                place(h('span', { class: 'bar queued', title }), run.queued, running || finish),
                running ? place(h('span', { class: `bar running bar-${run.state}`, title }, h('span', { class: 'bar-label' }, `${run.task} ${run.pass > 1 ? `p${run.pass}` : ''}`)), running, finish) : null,
              ];
            }),
          ),
        ),
      ),
    );
    dropCrampedLabels();
  }

  async function showLog(task) {
    if (openLog) openLog.stop();
    openLog = null;
    const lines = h('div', { id: 'log-lines', class: 'log-lines', tabindex: 0, 'aria-label': `Output of ${task}` });
    let firstError = null;
    const addLine = (text) => {
      const line = h('div', { class: 'line' }, ansiLine(text));
      if (isErrorLine(text)) {
        line.classList.add('error-line');
        if (!firstError) {
          firstError = line;
          line.classList.add('error-first');
          line.id = 'first-error';
          line.scrollIntoView({ block: 'center' });
        }
      }
      lines.append(line);
    };
    const close = h('button', { type: 'button', class: 'secondary' }, 'Close');
    close.addEventListener('click', () => {
      if (openLog) openLog.stop();
      logSection.hidden = true;
    });
    logSection.hidden = false;
    logSection.dataset.task = task;
    fill(logSection, h('h2', {}, `Log of ${task}`, ' ', close), lines);
    const query = `task=${encodeURIComponent(task)}`;
    if (detail.build.state === 'running') {
      logSection.dataset.live = 'true';
      openLog = stream(`/builds/${path(id)}/log?follow=true&${query}`, {
        once: true,
        onEvent(event) {
          if (event.event === 'line') addLine(JSON.parse(event.data).line);
          if (event.event === 'end') logSection.dataset.live = 'false';
        },
        onState(state) {
          if (state === 'ended') logSection.dataset.live = 'false';
        },
      });
    } else {
      logSection.dataset.live = 'false';
      const text = await api(`/builds/${path(id)}/log?${query}`, { text: true });
      const all = text.split('\n');
      if (all.length && all[all.length - 1] === '') all.pop();
      all.forEach(addLine);
      if (all.length === 0) lines.append(h('p', { class: 'muted' }, 'No output.'));
    }
    logSection.scrollIntoView({ block: 'nearest' });
    (firstError || lines).focus({ preventScroll: Boolean(firstError) });
  }

  let refetch = null;
  const scheduleRefetch = () => {
    if (refetch) return;
    refetch = setTimeout(async () => {
      refetch = null;
      try {
        detail = await api(`/builds/${path(id)}`);
        detail.tasks.forEach(noteRun);
        render();
      } catch {
        // shown again on the next event
      }
    }, 250);
  };

  function render() {
    renderSummary();
    renderTasks();
    renderTimeline();
  }

  fill(
    main,
    heading(`Build ${id}`),
    summary,
    table,
    h('section', { 'aria-label': 'Timeline', class: 'timeline-section' }, timeline),
    logSection,
  );
  render();
  const stop = listen((kind, data) => {
    if (kind === 'task' && data.build === id) {
      const index = detail.tasks.findIndex((run) => run.task === data.run.task);
      if (index >= 0) detail.tasks[index] = data.run;
      else detail.tasks.push(data.run);
      noteRun(data.run);
      renderTasks();
      renderTimeline();
      scheduleRefetch();
    } else if (kind === 'build' && data.id === id) {
      detail.build = data;
      render();
      scheduleRefetch();
    }
  });
  const ticker = setInterval(() => {
    if (detail.build.state === 'running') renderTimeline();
  }, 1000);
  onLeave(stop);
  onLeave(() => clearInterval(ticker));
  onLeave(() => openLog && openLog.stop());
}

