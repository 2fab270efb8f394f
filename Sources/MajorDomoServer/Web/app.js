// The MajorDomo's web page: projects, builds as they run, the graph, logs and Chefs, from
// the REST API and its event stream. Views are chosen by the address's fragment
// (#/project/NAME, #/build/ID, #/graph/NAME, #/chefs, #/builds).
import { api, ApiError, hooks, path, setToken, stream, token } from './api.js';
import { clock, count, fill, h, seconds } from './dom.js';
import { showBuild } from './build.js';
import { showGraph } from './graph.js';

const main = document.getElementById('main');
const connection = document.getElementById('connection');

/** The events of the MajorDomo, handed to whichever view listens. */
const listeners = new Set();
let feed = null;

export function listen(handler) {
  listeners.add(handler);
  return () => listeners.delete(handler);
}

/** What the view shown now must undo when another is shown. */
let leave = [];

export function onLeave(undo) {
  leave.push(undo);
}

async function startFeed() {
  if (feed) return;
  const health = await api('/health');
  feed = stream('/events', {
    after: health.lastEvent,
    onEvent(event) {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      for (const handler of listeners) handler(event.event, data);
    },
    onState(state) {
      connection.textContent =
        state === 'live' ? `live · ${health.pod} · cp ${health.version}` : state === 'retrying' ? 'reconnecting…' : 'disconnected';
      connection.dataset.state = state;
      if (state === 'ended') feed = null;
    },
  });
}

function heading(text) {
  document.title = `${text} · ComputePods`;
  return h('h1', { text });
}

/** Shows `error` in one line where the view would have been. */
function failed(error) {
  if (error instanceof ApiError && error.status === 401) return;
  fill(main, h('p', { class: 'error', role: 'alert' }, error.message || String(error)));
}

// MARK: The token

function showTokenPage() {
  for (const undo of leave) undo();
  leave = [];
  if (feed) {
    feed.stop();
    feed = null;
  }
  connection.textContent = 'needs a token';
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'token-error', class: 'error', role: 'alert' }, token() ? 'The MajorDomo refused this token.' : '');
  const form = h(
    'form',
    { id: 'token-form', class: 'card' },
    h('p', {}, 'This MajorDomo needs the token of its ', h('code', {}, '--token-file'), '.'),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    try {
      await api('/health');
      route();
    } catch (failure) {
      setToken(null);
      if (failure.status === 401) {
        showTokenPage();
        document.getElementById('token-error').textContent = 'The MajorDomo refused this token.';
      } else error.textContent = failure.message;
    }
  });
  fill(main, heading('Sign in'), form);
  input.focus();
}

hooks.unauthorized = () => {
  if (document.getElementById('token-form')) return;
  const had = token();
  setToken(null);
  showTokenPage();
  if (had) document.getElementById('token-error').textContent = 'The MajorDomo refused this token.';
};

// MARK: Projects

function buildBadge(build) {
  return h('span', { class: `badge state-${build.state}` }, build.state);
}

async function showProjects() {
  const list = h('ul', { id: 'projects', class: 'cards' });
  const directory = h('input', { id: 'add-directory', name: 'directory', required: true, placeholder: '/home/me/thesis' });
  const name = h('input', { id: 'add-name', name: 'name', placeholder: 'the directory’s name' });
  const message = h('p', { id: 'add-message', role: 'status', class: 'message' });
  const form = h(
    'form',
    { id: 'add-project', class: 'card inline' },
    h('h2', {}, 'Add a project'),
    h('div', { class: 'field' }, h('label', { for: 'add-directory' }, 'Directory'), directory),
    h('div', { class: 'field' }, h('label', { for: 'add-name' }, 'Name (optional)'), name),
    h('button', { type: 'submit' }, 'Add'),
    message,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = 'adding…';
    try {
      const body = { directory: directory.value.trim() };
      if (name.value.trim()) body.name = name.value.trim();
      const added = await api('/project/add', { method: 'POST', body });
      message.textContent = `added ${added.name}`;
      directory.value = '';
      name.value = '';
      await refresh();
    } catch (error) {
      message.textContent = error.message;
      message.classList.add('error');
    }
  });

  async function refresh() {
    const [projects, builds] = await Promise.all([api('/projects'), api('/builds')]);
    fill(
      list,
      projects.length === 0 ? h('li', { class: 'muted' }, 'No project yet: add one below, or run cp up DIR.') : null,
      projects.map((project) => {
        const last = builds.find((build) => build.project === project.name);
        const remove = h('button', { class: 'remove-project secondary', type: 'button' }, 'Remove');
        remove.addEventListener('click', async () => {
          if (remove.dataset.confirm !== 'yes') {
            remove.dataset.confirm = 'yes';
            remove.textContent = `Really remove ${project.name}?`;
            return;
          }
          try {
            await api('/project/remove', { method: 'POST', body: { name: project.name } });
            await refresh();
          } catch (error) {
            remove.textContent = error.message;
          }
        });
        return h(
          'li',
          { class: 'project card', dataset: { project: project.name } },
          h('h2', {}, h('a', { href: `#/project/${encodeURIComponent(project.name)}` }, project.name)),
          h('p', { class: 'muted' }, `${project.root} on ${project.pod}`),
          project.problem
            ? h('p', { class: 'error' }, project.problem)
            : h('p', {}, [count(project.targets.length, 'target'), count(project.tasks, 'task'), count(project.artefacts, 'file'), count(project.cycles, 'cycle')].join(', ')),
          last ? h('p', {}, 'Last build: ', h('a', { href: `#/build/${last.id}` }, last.id), ' ', buildBadge(last)) : null,
          h('div', { class: 'actions' }, buildButton(project.name, [], 'Build'), h('a', { href: `#/graph/${encodeURIComponent(project.name)}` }, 'Graph'), remove),
        );
      }),
    );
  }
  fill(main, heading('Projects'), list, form);
  await refresh();
  let pending = null;
  onLeave(
    listen((kind) => {
      if (kind !== 'build' || pending) return;
      pending = setTimeout(() => {
        pending = null;
        refresh().catch(() => {});
      }, 200);
    }),
  );
}

/** A button that starts a build of `targets` of `project` and shows it. */
function buildButton(project, targets, label) {
  const button = h('button', { type: 'button', class: 'build-button', dataset: { target: targets.join(' ') || '*' } }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const build = await api('/builds', { method: 'POST', body: { project, targets } });
      location.hash = `#/build/${build.id}`;
    } catch (error) {
      button.disabled = false;
      button.after(h('span', { class: 'error', role: 'alert' }, ` ${error.message}`));
    }
  });
  return button;
}

function buildRows(builds) {
  return builds.map((build) =>
    h(
      'tr',
      { class: 'build', dataset: { build: build.id, state: build.state, trigger: build.trigger } },
      h('td', {}, h('a', { href: `#/build/${build.id}` }, build.id)),
      h('td', {}, build.project),
      h('td', {}, buildBadge(build)),
      h('td', {}, build.trigger + (build.changedFiles ? `: ${build.changedFiles.join(', ')}` : '')),
      h('td', {}, clock(build.created)),
      h('td', {}, build.finished ? seconds(build.finished - build.created) : '…'),
      h('td', { class: 'number' }, String(build.jobs)),
    ),
  );
}

function buildTable(id) {
  const body = h('tbody');
  const table = h(
    'table',
    { id, class: 'builds' },
    h('thead', {}, h('tr', {}, ['Build', 'Project', 'State', 'Why', 'Started', 'Took', 'Jobs'].map((text) => h('th', { scope: 'col' }, text)))),
    body,
  );
  return { table, body };
}

async function showProject(name) {
  const [definition, builds] = await Promise.all([api(`/project/definition/${path(name)}`), api('/builds')]);
  const targets = h(
    'table',
    { id: 'targets' },
    h('thead', {}, h('tr', {}, ['Target', 'Builds', 'Help', ''].map((text) => h('th', { scope: 'col' }, text)))),
    h(
      'tbody',
      {},
      definition.targets.map((target) =>
        h(
          'tr',
          { class: 'target', dataset: { target: target.name } },
          h('th', { scope: 'row' }, target.name),
          h('td', {}, target.outputs.join(', ')),
          h('td', {}, target.help),
          h('td', {}, buildButton(name, [target.name], `Build ${target.name}`)),
        ),
      ),
    ),
  );
  const history = buildTable('project-builds');
  const refresh = (list) => fill(history.body, buildRows(list.filter((build) => build.project === name).slice(0, 30)));
  refresh(builds);
  fill(
    main,
    heading(name),
    h('p', { class: 'muted' }, `${definition.project.root} · ${count(definition.tasks.length, 'task')} · `, h('a', { href: `#/graph/${encodeURIComponent(name)}` }, 'graph')),
    h('div', { class: 'actions' }, buildButton(name, [], 'Build all targets')),
    h('h2', {}, 'Targets'),
    targets,
    h('h2', {}, 'Builds'),
    history.table,
  );
  onLeave(
    listen((kind) => {
      if (kind === 'build') api('/builds').then(refresh, () => {});
    }),
  );
}

async function showBuilds() {
  const table = buildTable('builds');
  const refresh = (list) => fill(table.body, buildRows(list.slice(0, 100)));
  refresh(await api('/builds'));
  fill(main, heading('Builds'), table.table);
  onLeave(
    listen((kind) => {
      if (kind === 'build') api('/builds').then(refresh, () => {});
    }),
  );
}

// MARK: Chefs

async function showChefs() {
  const body = h('tbody');
  const refresh = (chefs) =>
    fill(
      body,
      chefs.length === 0 ? h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No Chef has registered.')) : null,
      chefs.map((chef) =>
        h(
          'tr',
          { class: 'chef', dataset: { chef: chef.name, alive: String(chef.alive) } },
          h('th', { scope: 'row' }, chef.name),
          h('td', {}, h('span', { class: `badge ${chef.alive ? 'state-succeeded' : 'state-failed'}` }, chef.alive ? 'alive' : 'gone')),
          h('td', {}, chef.pod),
          h('td', {}, chef.kinds.join(', ')),
          h('td', {}, chef.rules.join(', ')),
          h('td', { class: 'number' }, `${chef.running} / ${chef.capacity}`),
          h('td', { class: 'number' }, chef.load.map((value) => value.toFixed(2)).join(' ')),
        ),
      ),
    );
  refresh(await api('/chefs'));
  fill(
    main,
    heading('Chefs'),
    h(
      'table',
      { id: 'chefs' },
      h('thead', {}, h('tr', {}, ['Chef', 'State', 'Pod', 'Kinds', 'Rules', 'Jobs', 'Load (1, 5, 15 min)'].map((text) => h('th', { scope: 'col' }, text)))),
      body,
    ),
  );
  const timer = setInterval(() => api('/chefs').then(refresh, () => {}), 5000);
  onLeave(() => clearInterval(timer));
  onLeave(
    listen((kind) => {
      if (kind === 'chef' || kind === 'build') api('/chefs').then(refresh, () => {});
    }),
  );
}

// MARK: Routing

async function route() {
  for (const undo of leave) undo();
  leave = [];
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    await startFeed();
    switch (parts[0]) {
      case 'project':
        await showProject(parts.slice(1).join('/'));
        break;
      case 'build':
        await showBuild(main, parts[1], { listen, onLeave, heading });
        break;
      case 'graph':
        await showGraph(main, parts.slice(1).join('/'), { listen, onLeave, heading });
        break;
      case 'chefs':
        await showChefs();
        break;
      case 'builds':
        await showBuilds();
        break;
      default:
        await showProjects();
    }
    main.dataset.view = parts[0] || 'projects';
  } catch (error) {
    failed(error);
  }
}

window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});
route();
