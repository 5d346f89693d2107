"""The platform's own rules for its Kubernetes manifests: what the services rely on, beyond the schemas.

Each rule names what breaks without it. `check_platform(docs)` returns the errors, empty when all hold.
"""

from __future__ import annotations

from collections import defaultdict

SERVICES = ("gateway", "registry", "sites", "inspection", "notifications")
API_LABEL = ("app.kubernetes.io/component", "api")  # the platform's pods (network policies select them)


def _by_kind(docs: list[dict]) -> dict[str, dict[str, dict]]:
    kinds: dict[str, dict[str, dict]] = defaultdict(dict)
    for doc in docs:
        doc = {**doc, "metadata": doc.get("metadata") or {}, "spec": doc.get("spec") or {}}
        kinds[doc.get("kind", "")][(doc.get("metadata") or {}).get("name", "")] = doc
    return kinds


def _container(deployment: dict) -> dict:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
    return containers[0]


def _probe_path(container: dict, probe: str) -> str | None:
    return ((container.get(probe) or {}).get("httpGet") or {}).get("path")


def _secret_refs(container: dict) -> list[tuple[str, bool]]:
    refs = []
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            refs.append((ref.get("name"), bool(ref.get("optional"))))
    for source in container.get("envFrom") or []:
        ref = source.get("secretRef")
        if ref:
            refs.append((ref.get("name"), bool(ref.get("optional"))))
    return refs


def check_services(kinds: dict, made_secrets: set[str], one_instance: bool) -> list[str]:
    """one_instance: the private overlays' component (deploy/k8s/components/one-instance) until issue #25."""
    errors = []
    pdb_targets = {(p["spec"].get("selector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                   for p in kinds["PodDisruptionBudget"].values()}
    hpas = {(h["spec"].get("scaleTargetRef") or {}).get("name"): h for h in kinds["HorizontalPodAutoscaler"].values()}
    for name in SERVICES:
        deployment = kinds["Deployment"].get(name)
        if deployment is None:
            errors.append(f"Deployment/{name}: missing (every service runs)")
            continue
        where, spec = f"Deployment/{name}", deployment.get("spec", {})
        if one_instance:
            if spec.get("replicas") != 1 or (spec.get("strategy") or {}).get("type") != "Recreate":
                errors.append(f"{where}: one instance: replicas 1, strategy Recreate (never two at once)")
        elif (spec.get("replicas") or 1) < 2:
            errors.append(f"{where}: replicas must be 2 or more (a node's loss or a rollout leaves one answering)")
        pod = spec.get("template", {})
        if pod.get("metadata", {}).get("labels", {}).get(API_LABEL[0]) != API_LABEL[1]:
            errors.append(f"{where}: pods need the label {API_LABEL[0]}={API_LABEL[1]} (network policies)")
        container = _container(deployment)
        if _probe_path(container, "readinessProbe") != "/readyz":
            errors.append(f"{where}: readinessProbe must be GET /readyz (database and runners)")
        if _probe_path(container, "livenessProbe") != "/healthz":
            errors.append(f"{where}: livenessProbe must be GET /healthz (the process answers)")
        requests = (container.get("resources") or {}).get("requests") or {}
        if not {"cpu", "memory"} <= requests.keys():
            errors.append(f"{where}: resources.requests needs cpu and memory (scheduling and the autoscaler)")
        if not (pod.get("spec", {}).get("securityContext") or {}).get("runAsNonRoot"):
            errors.append(f"{where}: securityContext.runAsNonRoot must be true")
        env = {e.get("name"): e for e in container.get("env") or []}
        if (env.get("NRMM_SERVICE_NAME") or {}).get("value") != name:
            errors.append(f"{where}: NRMM_SERVICE_NAME must be {name}")
        for variable in ("NRMM_JWT_SECRET", "NRMM_MONGODB_URL"):
            if not ((env.get(variable) or {}).get("valueFrom") or {}).get("secretKeyRef"):
                errors.append(f"{where}: {variable} must come from a Secret")
        for secret, optional in _secret_refs(container):
            if secret not in made_secrets and not optional:
                errors.append(f"{where}: Secret {secret} is neither in the manifests nor made by an operator")
        hpa = hpas.get(name)
        if one_instance:
            if name in pdb_targets or hpa is not None:
                errors.append(f"{where}: one instance: no PodDisruptionBudget, no HorizontalPodAutoscaler")
        else:
            if name not in pdb_targets:
                errors.append(f"{where}: no PodDisruptionBudget selects it")
            if hpa is None:
                errors.append(f"{where}: no HorizontalPodAutoscaler scales it")
            elif not 2 <= hpa["spec"].get("minReplicas", 1) <= hpa["spec"].get("maxReplicas", 0):
                errors.append(f"HorizontalPodAutoscaler/{name}: minReplicas 2 or more, maxReplicas at least that")
        if name not in kinds["Service"]:
            errors.append(f"Service/{name}: missing (NRMM_{name.upper()}_URL names it)")
    return errors


def check_exposure(kinds: dict) -> list[str]:
    """Only the gateway is reachable from outside; everything else is denied by default."""
    errors = []
    for name, service in kinds["Service"].items():
        if service.get("spec", {}).get("type", "ClusterIP") != "ClusterIP":
            errors.append(f"Service/{name}: only ClusterIP services (the gateway is reached through the Ingress)")
    for name, ingress in kinds["Ingress"].items():
        for rule in ingress.get("spec", {}).get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                if path.get("backend", {}).get("service", {}).get("name") != "gateway":
                    errors.append(f"Ingress/{name}: only the gateway may be exposed")
    policies = kinds["NetworkPolicy"].values()
    deny = [p for p in policies if p["spec"].get("podSelector", {}).get("matchLabels") == dict([API_LABEL])
            and {"Ingress", "Egress"} <= set(p["spec"].get("policyTypes") or []) and not p["spec"].get("ingress")
            and not p["spec"].get("egress")]
    if not deny:
        errors.append("NetworkPolicy: none denies all traffic of the platform's pods by default")
    for policy in policies:
        selected = policy["spec"].get("podSelector", {}).get("matchLabels", {})
        for rule in policy["spec"].get("ingress") or []:
            if not rule.get("from") and selected != {"app.kubernetes.io/name": "gateway"}:
                errors.append(f"NetworkPolicy/{policy['metadata']['name']}: only the gateway takes traffic from anyone")
    return errors


def check_kafka(kinds: dict, config: dict) -> list[str]:
    errors = []
    if len(kinds["Kafka"]) != 1:
        return ["Kafka: exactly one Kafka resource expected"]
    (cluster, kafka), = kinds["Kafka"].items()
    annotations = kafka["metadata"].get("annotations") or {}
    if annotations.get("strimzi.io/kraft") != "enabled" or annotations.get("strimzi.io/node-pools") != "enabled":
        errors.append(f"Kafka/{cluster}: KRaft with node pools (annotations strimzi.io/kraft, strimzi.io/node-pools)")
    listeners = ((kafka.get("spec") or {}).get("kafka") or {}).get("listeners") or []
    ports = {(listener.get("port"), listener.get("tls")) for listener in listeners}
    if config.get("NRMM_KAFKA_BOOTSTRAP") != f"{cluster}-kafka-bootstrap:9092" or (9092, False) not in ports:
        errors.append(f"Kafka/{cluster}: NRMM_KAFKA_BOOTSTRAP must be {cluster}-kafka-bootstrap:9092, a plain listener")
    pools = [p for p in kinds["KafkaNodePool"].values()
             if (p["metadata"].get("labels") or {}).get("strimzi.io/cluster") == cluster]
    brokers = sum(p["spec"].get("replicas", 0) for p in pools if "broker" in (p["spec"].get("roles") or []))
    controllers = sum(p["spec"].get("replicas", 0) for p in pools if "controller" in (p["spec"].get("roles") or []))
    if controllers < 3 or controllers % 2 == 0:
        errors.append(f"Kafka/{cluster}: an odd number of controllers, at least 3 (the quorum survives a loss)")
    replication = int(config.get("NRMM_TOPIC_REPLICATION_FACTOR", "1"))
    if brokers < replication:
        errors.append(f"Kafka/{cluster}: {brokers} brokers cannot hold {replication} replicas")
    topics = {t["spec"].get("topicName", name): t for name, t in kinds["KafkaTopic"].items()}
    for service in SERVICES:
        name = f"{config.get('NRMM_NAMESPACE', 'nrmm')}.{service}.events"
        topic = topics.get(name)
        if topic is None:
            errors.append(f"KafkaTopic: {name} missing (each service publishes its events there)")
            continue
        where, spec = f"KafkaTopic/{topic['metadata']['name']}", topic["spec"]
        if topic["metadata"].get("labels", {}).get("strimzi.io/cluster") != cluster:
            errors.append(f"{where}: label strimzi.io/cluster must be {cluster}")
        settings = spec.get("config") or {}
        if str(settings.get("retention.ms")) != "-1" or str(settings.get("retention.bytes")) != "-1":
            errors.append(f"{where}: event topics keep everything (retention.ms and retention.bytes -1)")
        if spec.get("replicas", 0) > brokers or spec.get("replicas", 0) < replication:
            errors.append(f"{where}: replicas between {replication} and the {brokers} brokers")
        if int(settings.get("min.insync.replicas", 1)) >= spec.get("replicas", 1) and spec.get("replicas", 1) > 1:
            errors.append(f"{where}: min.insync.replicas below replicas (acks=all writes survive a broker's loss)")
    return errors


def check_mongodb(kinds: dict, config: dict) -> tuple[list[str], set[str]]:
    errors, made = [], set()
    if len(kinds["MongoDBCommunity"]) != 1:
        return ["MongoDBCommunity: exactly one expected"], made
    (name, mongo), = kinds["MongoDBCommunity"].items()
    spec = mongo["spec"]
    if spec.get("type") != "ReplicaSet" or spec.get("members", 0) < 3:
        errors.append(f"MongoDBCommunity/{name}: a replica set of 3 or more members")
    users = {u.get("connectionStringSecretName"): u for u in spec.get("users") or []}
    made |= {s for s in users if s}
    prefix = config.get("NRMM_NAMESPACE", "nrmm")
    for service in SERVICES:
        user = users.get(f"nrmm-mongodb-{service}")
        if user is None:
            errors.append(f"MongoDBCommunity/{name}: no user writes the Secret nrmm-mongodb-{service} "
                          f"({service}'s NRMM_MONGODB_URL)")
            continue
        roles = {(r.get("name"), r.get("db")) for r in user.get("roles") or []}
        if ("readWrite", f"{prefix}_{service}") not in roles:
            errors.append(f"MongoDBCommunity/{name}: user {user.get('name')} needs readWrite on {prefix}_{service}")
        other = {db for _, db in roles} - {f"{prefix}_{service}"}
        if other:
            errors.append(f"MongoDBCommunity/{name}: user {user.get('name')} reaches other databases {sorted(other)}")
        password = (user.get("passwordSecretRef") or {}).get("name")
        if password not in kinds["Secret"]:
            errors.append(f"MongoDBCommunity/{name}: user {user.get('name')}'s password Secret {password} missing")
    return errors, made


def check_platform(docs: list[dict], one_instance: bool = False) -> list[str]:
    kinds = _by_kind(docs)
    config = (kinds["ConfigMap"].get("nrmm-config") or {}).get("data") or {}
    if not config:
        return ["ConfigMap/nrmm-config: missing (every service reads it)"]
    mongo_errors, made = check_mongodb(kinds, config)
    made |= set(kinds["Secret"])
    if "signing-key" not in ((kinds["Secret"].get("nrmm-jwt") or {}).get("stringData") or {}) and \
            "signing-key" not in ((kinds["Secret"].get("nrmm-jwt") or {}).get("data") or {}):
        mongo_errors.append("Secret/nrmm-jwt: the token signing key (signing-key) is missing")
    return check_services(kinds, made, one_instance) + check_exposure(kinds) + check_kafka(kinds, config) + mongo_errors
