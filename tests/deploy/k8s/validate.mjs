// Validates rendered inputserve manifests (the output of `kubectl kustomize`)
// offline: every object against its Kubernetes / Prometheus Operator schema
// (kubernetes-models), then the properties the deployment promises (shard
// index from the pod ordinal, --num_shards == replicas, admin port private,
// probes, selectors that match). Schemas catch wrong types, missing required
// fields and bad enums; they do not reject unknown field names, which the
// property checks below partly cover (a misspelt probe is a missing probe).
//
// Usage: node validate.mjs RENDERED.yaml...        exit 0 when all valid
//        node validate.mjs --mutants RENDERED.yaml   breaks a valid render in
//        known ways and exits 0 only if the validator rejects every mutant
//        with the expected complaint (proves the checks can fail).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";

const ADMIN_PORT = 50052;
const DATA_PORT = 50051;
const METRICS_PORT = 9300;

// apiVersion -> module that exports one model class per kind.
function modelModule(apiVersion) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  }
  return `kubernetes-models/${apiVersion}`;
}

async function schemaErrors(doc) {
  if (!doc || typeof doc !== "object") return ["document is not an object"];
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["object has no apiVersion/kind"];
  }
  let mod;
  try {
    mod = await import(modelModule(apiVersion));
  } catch (e) {
    return [`no schema for apiVersion ${apiVersion}: ${e.message}`];
  }
  const Model = mod[kind];
  if (typeof Model !== "function") return [`no schema for ${apiVersion} ${kind}`];
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    const details = (e.errors || []).map((x) => `${x.instancePath} ${x.message}`);
    return [details.length ? details.join("; ") : e.message];
  }
}

// True when every key/value of `selector` appears in `labels`.
function selects(selector, labels) {
  const m = (selector && selector.matchLabels) || selector || {};
  return Object.entries(m).every(([k, v]) => labels[k] === v) && Object.keys(m).length > 0;
}

// Runs the container's real command with a stand-in inputserve-server that
// prints its arguments, as the pod with the given ordinal would run it.
function runEntrypoint(container, env, podName) {
  const dir = mkdtempSync(join(tmpdir(), "inputserve-k8s-"));
  try {
    const fake = join(dir, "inputserve-server");
    writeFileSync(fake, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
    chmodSync(fake, 0o755);
    const cmd = container.command || [];
    const r = spawnSync(cmd[0], [...cmd.slice(1), ...(container.args || [])], {
      env: { ...env, POD_NAME: podName, PATH: `${dir}:/usr/bin:/bin` },
      encoding: "utf8",
      timeout: 10000,
    });
    return { code: r.status, out: (r.stdout || "").trim().split("\n"), err: r.stderr || "" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function propertyErrors(docs) {
  const errs = [];
  const byKind = (k) => docs.filter((d) => d && d.kind === k);
  const sts = byKind("StatefulSet").find((d) => d.metadata.name === "inputserve");
  if (!sts) return ["no StatefulSet named inputserve"];
  const replicas = sts.spec.replicas;
  if (!Number.isInteger(replicas) || replicas < 1) errs.push(`StatefulSet replicas ${replicas}`);
  const pod = sts.spec.template;
  const podLabels = pod.metadata.labels || {};
  const c = (pod.spec.containers || []).find((x) => x.name === "inputserve");
  if (!c) return errs.concat(["no container named inputserve"]);

  // --num_shards comes from spec.replicas.
  if ((c.args || [])[0] !== `--num_shards=${replicas}`) {
    errs.push(`args[0] is ${JSON.stringify((c.args || [])[0])}, want --num_shards=${replicas}`);
  }

  // Environment the pod would get from its ConfigMaps.
  const env = {};
  for (const ef of c.envFrom || []) {
    if (!ef.configMapRef) continue;
    const cm = byKind("ConfigMap").find((d) => d.metadata.name === ef.configMapRef.name);
    if (!cm) errs.push(`envFrom ConfigMap ${ef.configMapRef.name} is not in the render`);
    else Object.assign(env, cm.data || {});
  }
  for (const e of c.env || []) if (typeof e.value === "string") env[e.name] = e.value;

  // Shard index from the ordinal, for every pod the StatefulSet creates.
  for (let i = 0; i < replicas; i++) {
    const r = runEntrypoint(c, env, `${sts.metadata.name}-${i}`);
    if (r.code !== 0) {
      errs.push(`entrypoint of pod ${i} exited ${r.code}: ${r.err}`);
      continue;
    }
    const flag = (name) => r.out.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
    const expect = {
      shard_index: String(i), num_shards: String(replicas),
      admin_listen: `127.0.0.1:${ADMIN_PORT}`, listen: `0.0.0.0:${DATA_PORT}`,
      metrics_listen: `0.0.0.0:${METRICS_PORT}`,
    };
    for (const [k, v] of Object.entries(expect)) {
      const got = flag(k);
      if (got.length !== 1 || got[0] !== v) errs.push(`pod ${i}: --${k}=${JSON.stringify(got)}, want ${v}`);
    }
    for (const k of ["dataset", "batch_size", "mode"]) {
      const got = flag(k);
      if (got.length !== 1 || got[0] === "") errs.push(`pod ${i}: --${k} missing or empty`);
    }
    // The admin token file lives on a mounted Secret.
    const tokenFile = flag("admin_token_file")[0] || "";
    const mount = (c.volumeMounts || []).find((m) => tokenFile.startsWith(m.mountPath + "/"));
    const vol = mount && (pod.spec.volumes || []).find((v) => v.name === mount.name);
    if (!vol || !vol.secret) errs.push(`pod ${i}: --admin_token_file=${tokenFile} is not on a Secret volume`);
  }
  // A pod beyond the shard count (kubectl scale) must refuse to start.
  const extra = runEntrypoint(c, env, `${sts.metadata.name}-${replicas}`);
  if (extra.code !== 64) errs.push(`pod ${replicas} of ${replicas} exited ${extra.code}, want 64`);

  // Native gRPC probes on the data port.
  for (const p of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    if (!c[p] || !c[p].grpc || c[p].grpc.port !== DATA_PORT) errs.push(`${p} is not a gRPC probe on ${DATA_PORT}`);
  }
  for (const r of ["requests", "limits"]) {
    for (const k of ["cpu", "memory"]) {
      if (!c.resources || !c.resources[r] || !c.resources[r][k]) errs.push(`resources.${r}.${k} unset`);
    }
  }
  if (!pod.spec.securityContext || pod.spec.securityContext.runAsNonRoot !== true) errs.push("pod may run as root");
  if ((c.ports || []).some((p) => p.containerPort === ADMIN_PORT)) errs.push("admin port declared as a container port");

  // The headless Service carries the data port only; no Service has admin or metrics.
  const svc = byKind("Service").find((s) => s.metadata.name === sts.spec.serviceName);
  if (!svc) errs.push(`serviceName ${sts.spec.serviceName} has no Service`);
  else {
    if (svc.spec.clusterIP !== "None") errs.push("the StatefulSet's Service is not headless");
    if (!selects(svc.spec.selector, podLabels)) errs.push("headless Service selector does not match the pods");
    const ports = (svc.spec.ports || []).map((p) => p.port);
    if (ports.length !== 1 || ports[0] !== DATA_PORT) errs.push(`headless Service ports ${ports}, want [${DATA_PORT}]`);
  }
  for (const s of byKind("Service")) {
    for (const p of s.spec.ports || []) {
      if ([ADMIN_PORT, METRICS_PORT].includes(p.port) || [ADMIN_PORT, METRICS_PORT].includes(p.targetPort)) {
        errs.push(`Service ${s.metadata.name} exposes port ${p.port}`);
      }
    }
  }

  const pdb = byKind("PodDisruptionBudget")[0];
  if (!pdb || !selects(pdb.spec.selector, podLabels)) errs.push("no PodDisruptionBudget selecting the pods");
  const pm = byKind("PodMonitor")[0];
  if (!pm || !selects(pm.spec.selector, podLabels)) errs.push("no PodMonitor selecting the pods");
  else {
    const names = (c.ports || []).map((p) => p.name);
    for (const ep of pm.spec.podMetricsEndpoints || []) {
      if (!names.includes(ep.port)) errs.push(`PodMonitor port ${ep.port} is not a container port`);
    }
  }
  const np = byKind("NetworkPolicy")[0];
  if (!np || !selects(np.spec.podSelector, podLabels)) errs.push("no NetworkPolicy selecting the pods");
  else {
    if (!(np.spec.policyTypes || []).includes("Ingress")) errs.push("NetworkPolicy does not restrict ingress");
    for (const rule of np.spec.ingress || []) {
      const ports = (rule.ports || []).map((p) => p.port);
      if (ports.length === 0) errs.push("a NetworkPolicy ingress rule allows every port");
      if (ports.includes(ADMIN_PORT)) errs.push("NetworkPolicy admits the admin port");
    }
  }
  return errs;
}

// Each mutant breaks one promise; `want` must appear in an error message.
const MUTANTS = [
  { name: "replicas of the wrong type", want: "replicas",
    apply: (ds) => { sts(ds).spec.replicas = "two"; } },
  { name: "num_shards out of step with replicas", want: "args[0]",
    apply: (ds) => { sts(ds).spec.replicas += 1; } },
  { name: "containerPort of the wrong type", want: "containerPort",
    apply: (ds) => { ctr(ds).ports[0].containerPort = "grpc"; } },
  { name: "shard index not taken from the ordinal", want: "--shard_index",
    apply: (ds) => { const c = ctr(ds); c.command[2] = c.command[2].replace('--shard_index="$ordinal"', "--shard_index=0"); } },
  { name: "admin listening on all interfaces", want: "--admin_listen",
    apply: (ds) => { const c = ctr(ds); c.command[2] = c.command[2].replace("--admin_listen=127.0.0.1:", "--admin_listen=0.0.0.0:"); } },
  { name: "admin port in a Service", want: "exposes port 50052",
    apply: (ds) => { ds.find((d) => d.kind === "Service").spec.ports.push({ name: "admin", port: 50052 }); } },
  { name: "misspelt readiness probe", want: "readinessProbe",
    apply: (ds) => { const c = ctr(ds); c.readinesProbe = c.readinessProbe; delete c.readinessProbe; } },
  { name: "NetworkPolicy opening the admin port", want: "admin port",
    apply: (ds) => { ds.find((d) => d.kind === "NetworkPolicy").spec.ingress[0].ports.push({ port: 50052 }); } },
  { name: "PodMonitor on a port the pod lacks", want: "PodMonitor port",
    apply: (ds) => { ds.find((d) => d.kind === "PodMonitor").spec.podMetricsEndpoints[0].port = "metric"; } },
  { name: "unknown protocol enum", want: "protocol",
    apply: (ds) => { ctr(ds).ports[0].protocol = "QUIC"; } },
];
const sts = (ds) => ds.find((d) => d.kind === "StatefulSet");
const ctr = (ds) => sts(ds).spec.template.spec.containers[0];

async function errorsOf(docs) {
  const errs = [];
  for (const d of docs) {
    for (const e of await schemaErrors(d)) {
      errs.push(`${d.kind || "?"}/${(d.metadata && d.metadata.name) || "?"}: ${e}`);
    }
  }
  return errs.concat(propertyErrors(docs));
}

async function mutants(file) {
  const text = readFileSync(file, "utf8");
  const base = await errorsOf(yaml.loadAll(text).filter((d) => d != null));
  if (base.length) {
    console.log(`${file} is not valid to begin with:\n  - ${base.join("\n  - ")}`);
    return false;
  }
  let ok = true;
  for (const m of MUTANTS) {
    const docs = yaml.loadAll(text).filter((d) => d != null);
    m.apply(docs);
    const errs = await errorsOf(docs);
    const hit = errs.find((e) => e.includes(m.want));
    console.log(`${hit ? "rejected" : "MISSED  "} ${m.name}${hit ? ": " + hit : ""}`);
    if (!hit) ok = false;
  }
  return ok;
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--mutants" && args.length === 2) process.exit((await mutants(args[1])) ? 0 : 1);
  if (args.length === 0 || args[0].startsWith("--")) {
    console.error("usage: node validate.mjs RENDERED.yaml... | --mutants RENDERED.yaml");
    process.exit(2);
  }
  let failedFiles = 0;
  for (const file of args) {
    const docs = yaml.loadAll(readFileSync(file, "utf8")).filter((d) => d != null);
    const errs = await errorsOf(docs);
    const kinds = docs.map((d) => d.kind).join(", ");
    if (errs.length) {
      failedFiles++;
      console.log(`${file}: INVALID (${docs.length} objects)`);
      for (const e of errs) console.log(`  - ${e}`);
    } else {
      console.log(`${file}: ok, ${docs.length} objects valid: ${kinds}`);
    }
  }
  process.exit(failedFiles === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
