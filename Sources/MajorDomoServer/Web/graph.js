// A project's graph: Graphviz's drawing (cycles as clusters), each task coloured by its state
// in the project's newest build, live; without Graphviz, the graph as a list in build order.
// Choosing a node shows its artefact (sha256, size, pod) or its task (rule, inputs, outputs,
// last runs, why its first output would be rebuilt).
import { api, ApiError, path } from './api.js';
import { clock, count, fill, h, seconds } from './dom.js';

/** A description list of [term, description] pairs. */
function terms(pairs) {
  return h('dl', {}, pairs.map(([term, description]) => [h('dt', {}, term), h('dd', {}, description)]));
}

export async function showGraph(main, name, { listen, onLeave, heading }) {
  const graph = await api(`/graph/${path(name)}?format=json`);
  const drawing = h('div', { id: 'graph', class: 'graph' });
  const details = h('section', { id: 'node-details', 'aria-live': 'polite', 'aria-label': 'Selected node' }, h('p', { class: 'muted' }, 'Choose a task or a file to see it here.'));
  /** The state of each task in the newest build. */
  const states = new Map();
  let newest = null;
  /** Each task's and artefact's element in the drawing or the list. */
  const taskNodes = new Map();

  fill(
    main,
    heading(`Graph of ${name}`),
    h('p', { class: 'muted' }, `${count(graph.tasks.length, 'task')}, ${count(graph.artefacts.length, 'file')}, ${count(graph.components.filter((component) => component.cyclic).length, 'cycle')} · `, h('a', { href: `#/project/${encodeURIComponent(name)}` }, name)),
    h('div', { class: 'graph-layout' }, drawing, details),
  );

  const paint = () => {
    for (const [task, element] of taskNodes) element.dataset.state = states.get(task) || 'idle';
  };

  async function loadStates() {
    const builds = await api('/builds');
    const last = builds.find((build) => build.project === name);
    if (!last) return;
    newest = last.id;
    const detail = await api(`/builds/${path(last.id)}`);
    states.clear();
    for (const run of detail.tasks) states.set(run.task, run.state);
    paint();
  }

  const choose = (kind, value) => (kind === 'task' ? showTask(value) : showArtefact(value));
  const activate = (element, kind, value, label) => {
    element.setAttribute('tabindex', '0');
    element.setAttribute('role', 'button');
    element.setAttribute('aria-label', label);
    element.addEventListener('click', () => choose(kind, value));
    element.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        choose(kind, value);
      }
    });
  };

  try {
    const svgText = await api(`/graph/${path(name)}?format=svg`, { text: true });
    const svg = new DOMParser().parseFromString(svgText, 'image/svg+xml').documentElement;
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.setAttribute('role', 'group');
    svg.setAttribute('aria-label', `The graph of ${name}: tasks as boxes, files as ellipses, cycles in dashed clusters`);
    for (const node of svg.querySelectorAll('g.node')) {
      const id = node.querySelector('title')?.textContent || '';
      const number = Number(id.slice(1));
      if (id.startsWith('t') && graph.tasks[number]) {
        const task = graph.tasks[number].name;
        node.setAttribute('data-task', task);
      } else if (id.startsWith('a') && graph.artefacts[number]) {
        node.setAttribute('data-artefact', graph.artefacts[number].path);
      }
    }
    for (const title of svg.querySelectorAll('g.node > title, g.edge > title')) title.remove();
    drawing.dataset.kind = 'svg';
    fill(drawing, document.importNode(svg, true));
    for (const node of drawing.querySelectorAll('g.node[data-task]')) {
      taskNodes.set(node.dataset.task, node);
      activate(node, 'task', node.dataset.task, `task ${node.dataset.task}`);
    }
    for (const node of drawing.querySelectorAll('g.node[data-artefact]')) activate(node, 'artefact', node.dataset.artefact, `file ${node.dataset.artefact}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    drawing.dataset.kind = 'list';
    fill(drawing, h('p', { class: 'muted' }, `${error.message}. The graph in build order:`), listInOrder());
  }

  function listInOrder() {
    return h(
      'ol',
      { class: 'build-order' },
      graph.components.map((component, index) => {
        const items = component.tasks.map((task) => {
          const item = h('li', { class: 'task-node' }, task, ' ', h('span', { class: 'muted' }, `(${graph.tasks.find((one) => one.name === task)?.rule || ''})`));
          taskNodes.set(task, item);
          activate(item, 'task', task, `task ${task}`);
          return item;
        });
        return component.cyclic
          ? h('li', { class: 'cycle-group' }, `Cycle ${index + 1} (closed by ${component.feedback.join(', ')}):`, h('ul', {}, items))
          : items;
      }),
    );
  }

  async function showTask(task) {
    const definition = graph.tasks.find((one) => one.name === task);
    fill(details, h('h2', {}, `Task ${task}`), h('p', { class: 'muted' }, 'loading…'));
    const builds = (await api('/builds')).filter((build) => build.project === name).slice(0, 8);
    const runs = [];
    for (const build of builds) {
      const detail = await api(`/builds/${path(build.id)}`);
      const run = detail.tasks.find((one) => one.task === task);
      if (run) runs.push({ build, run });
      if (runs.length >= 5) break;
    }
    let why = null;
    if (definition.outputs.length) {
      try {
        why = await api(`/why/${path(name)}/${path(definition.outputs[0])}`);
      } catch (error) {
        why = { error: error.message };
      }
    }
    fill(
      details,
      h('h2', {}, `Task ${task}`),
      terms([
        ['Rule', definition.rule],
        ['Inputs', [...definition.dependencies, ...definition.secondaryDependencies.map((one) => `${one} (secondary)`)].join(', ') || 'none'],
        ['Outputs', definition.outputs.join(', ') || 'none'],
        ['State in the newest build', states.get(task) || 'did not run'],
      ]),
      h('h3', {}, 'Last runs'),
      runs.length === 0
        ? h('p', { class: 'muted' }, 'No build ran it.')
        : h(
            'ul',
            { class: 'runs' },
            runs.map(({ build, run }) => h('li', {}, h('a', { href: `#/build/${build.id}` }, build.id), ` ${clock(build.created)}: ${run.state}, pass ${run.pass}, ${run.reason}${run.chef ? ` on ${run.chef}` : ''}${run.elapsed ? `, ${seconds(run.elapsed)}` : ''}`)),
          ),
      why ? h('h3', {}, `Why ${definition.outputs[0]}`) : null,
      why ? (why.error ? h('p', { class: 'error' }, why.error) : h('ul', { class: 'why' }, (why.explanation || []).map((line) => h('li', {}, line)))) : null,
    );
  }

  async function showArtefact(artefact) {
    const entry = graph.artefacts.find((one) => one.path === artefact);
    let file = null;
    try {
      file = (await api(`/files/${path(name)}/${path(artefact)}`)).artefact;
    } catch (error) {
      file = { error: error.message };
    }
    fill(
      details,
      h('h2', {}, `File ${artefact}`),
      terms([
        ['Made by', entry?.producer || 'no task: a source'],
        ['A goal', entry?.goal ? 'yes' : 'no'],
        ...(file.error
          ? [['State', file.error]]
          : [
              ['sha256', h('span', { class: 'digest' }, file.sha256 || 'none (missing)')],
              ['Size', `${file.size} bytes`],
              ['Pod', file.pod || ''],
            ]),
      ]),
    );
  }

  await loadStates().catch(() => {});
  onLeave(
    listen((kind, data) => {
      if (kind === 'task' && data.project === name) {
        if (data.build !== newest) {
          newest = data.build;
          states.clear();
        }
        states.set(data.run.task, data.run.state);
        paint();
      } else if (kind === 'build' && data.project === name && data.id !== newest && data.state === 'running') {
        newest = data.id;
        states.clear();
        paint();
      }
    }),
  );
}
