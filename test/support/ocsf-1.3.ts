/**
 * The parts of OCSF 1.3.0 that the broker's records use, written by hand from the public ocsf-schema at tag
 * 1.3.0 (events/base_event.json, includes/classification.json, includes/occurrence.json, profiles/cloud.json,
 * events/application/api.json, events/iam/iam.json, events/iam/user_access.json, objects/*.json,
 * dictionary.json, categories.json). Not a copy of the schema: only the required attributes, the
 * "at least one of" constraints and the enums of the classes and objects that appear in an export.
 */

type Json = Record<string, unknown>;

const CATEGORIES: Record<number, string> = { 3: 'Identity & Access Management', 6: 'Application Activity' };

/** Base event (classification + occurrence + base_event.json): required at the top of every record. */
const BASE_REQUIRED = [
  'activity_id',
  'category_uid',
  'class_uid',
  'type_uid',
  'time',
  'severity_id',
  'metadata',
];

const SEVERITY_IDS = [0, 1, 2, 3, 4, 5, 6, 99];
const STATUS_IDS = [0, 1, 2, 99];

interface ClassSpec {
  category: number;
  name: string;
  required: string[];
  activities: Record<number, string>;
}

const CLASSES: Record<number, ClassSpec> = {
  // events/application/api.json (uid 3 in category 6)
  6003: {
    category: 6,
    name: 'API Activity',
    required: ['actor', 'api', 'src_endpoint'],
    activities: { 0: 'Unknown', 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' },
  },
  // events/iam/user_access.json (uid 5 in category 3)
  3005: {
    category: 3,
    name: 'User Access Management',
    required: ['privileges', 'user'],
    activities: { 0: 'Unknown', 1: 'Assign Privileges', 2: 'Revoke Privileges', 99: 'Other' },
  },
};

const USER_TYPE_IDS = [0, 1, 2, 3, 99];
const ACCOUNT_TYPE_IDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 99];

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const present = (object: Json, key: string) => object[key] !== undefined && object[key] !== null;

function atLeastOne(problems: string[], path: string, object: Json, keys: string[]): void {
  if (!keys.some((key) => present(object, key)))
    problems.push(`${path} needs at least one of ${keys.join(', ')}`);
}

function requireKeys(problems: string[], path: string, object: Json, keys: string[]): void {
  for (const key of keys) if (!present(object, key)) problems.push(`${path}.${key} is required`);
}

function enumOf(problems: string[], path: string, value: unknown, allowed: number[]): void {
  if (value !== undefined && !allowed.includes(value as number))
    problems.push(`${path} ${String(value)} is not in the enum`);
}

/** objects/_entity.json: name or uid. */
function entity(problems: string[], path: string, value: unknown): void {
  if (!isObject(value)) return void problems.push(`${path} must be an object`);
  atLeastOne(problems, path, value, ['name', 'uid']);
}

function account(problems: string[], path: string, value: unknown): void {
  entity(problems, path, value);
  if (isObject(value)) enumOf(problems, `${path}.type_id`, value.type_id, ACCOUNT_TYPE_IDS);
}

/** objects/user.json: at least one of account, name, uid. */
function user(problems: string[], path: string, value: unknown): void {
  if (!isObject(value)) return void problems.push(`${path} must be an object`);
  atLeastOne(problems, path, value, ['account', 'name', 'uid']);
  enumOf(problems, `${path}.type_id`, value.type_id, USER_TYPE_IDS);
  if (present(value, 'account')) account(problems, `${path}.account`, value.account);
}

/** objects/actor.json: at least one of process, user, invoked_by, session, app_name, app_uid. */
function actor(problems: string[], path: string, value: unknown): void {
  if (!isObject(value)) return void problems.push(`${path} must be an object`);
  atLeastOne(problems, path, value, ['process', 'user', 'invoked_by', 'session', 'app_name', 'app_uid']);
  if (present(value, 'user')) user(problems, `${path}.user`, value.user);
  // objects/process.json: at least one of pid, uid.
  if (present(value, 'process')) {
    if (!isObject(value.process)) problems.push(`${path}.process must be an object`);
    else atLeastOne(problems, `${path}.process`, value.process, ['pid', 'uid']);
  }
}

/** objects/network_endpoint.json. */
function networkEndpoint(problems: string[], path: string, value: unknown): void {
  if (!isObject(value)) return void problems.push(`${path} must be an object`);
  atLeastOne(problems, path, value, [
    'ip',
    'uid',
    'name',
    'hostname',
    'svc_name',
    'instance_uid',
    'interface_uid',
    'interface_name',
  ]);
}

/** objects/resource_details.json (an _entity; `owner` is a user). */
function resource(problems: string[], path: string, value: unknown): void {
  entity(problems, path, value);
  if (isObject(value) && present(value, 'owner')) user(problems, `${path}.owner`, value.owner);
}

/** Every problem with one record, as `path: what`; empty when the record is valid. */
export function ocsfProblems(record: Json): string[] {
  const problems: string[] = [];
  requireKeys(problems, '', record, BASE_REQUIRED);
  const classUid = record.class_uid as number;
  const spec = CLASSES[classUid];
  if (!spec) return [...problems, `class_uid ${classUid} is not a class this checker knows`];
  requireKeys(problems, '', record, spec.required);
  if (record.category_uid !== spec.category) problems.push(`category_uid must be ${spec.category}`);
  if (record.category_name !== undefined && record.category_name !== CATEGORIES[spec.category]) {
    problems.push(`category_name must be ${CATEGORIES[spec.category]}`);
  }
  if (record.class_name !== undefined && record.class_name !== spec.name)
    problems.push(`class_name must be ${spec.name}`);
  const activity = record.activity_id as number;
  if (!(activity in spec.activities))
    problems.push(`activity_id ${activity} is not in the enum of ${spec.name}`);
  else if (record.activity_name !== undefined && record.activity_name !== spec.activities[activity]) {
    problems.push(`activity_name must be ${spec.activities[activity]}`);
  }
  if (record.type_uid !== classUid * 100 + activity)
    problems.push('type_uid must be class_uid * 100 + activity_id');
  if (typeof record.time !== 'number' || !Number.isInteger(record.time))
    problems.push('time must be an integer (ms)');
  enumOf(problems, 'severity_id', record.severity_id, SEVERITY_IDS);
  enumOf(problems, 'status_id', record.status_id, STATUS_IDS);

  // objects/metadata.json: product and version; objects/product.json: vendor_name.
  const metadata = record.metadata;
  if (isObject(metadata)) {
    requireKeys(problems, 'metadata', metadata, ['product', 'version']);
    if (metadata.version !== '1.3.0') problems.push('metadata.version must be 1.3.0');
    if (isObject(metadata.product))
      requireKeys(problems, 'metadata.product', metadata.product, ['vendor_name']);
    const profiles = Array.isArray(metadata.profiles) ? (metadata.profiles as unknown[]) : [];
    // profiles/cloud.json: a record using the profile declares it and carries cloud.provider.
    if (present(record, 'cloud') && !profiles.includes('cloud'))
      problems.push('cloud is used but metadata.profiles lacks "cloud"');
    if (profiles.includes('cloud')) {
      if (!isObject(record.cloud)) problems.push('the cloud profile requires cloud');
      else {
        requireKeys(problems, 'cloud', record.cloud, ['provider']);
        if (present(record.cloud, 'account')) account(problems, 'cloud.account', record.cloud.account);
      }
    }
  } else if (metadata !== undefined) problems.push('metadata must be an object');

  if (present(record, 'actor')) actor(problems, 'actor', record.actor);
  if (present(record, 'src_endpoint')) networkEndpoint(problems, 'src_endpoint', record.src_endpoint);
  if (classUid === 6003) {
    // objects/api.json: operation; its service is an _entity, its request needs uid.
    const api = record.api;
    if (isObject(api)) {
      requireKeys(problems, 'api', api, ['operation']);
      if (present(api, 'service')) entity(problems, 'api.service', api.service);
      if (present(api, 'request')) {
        if (isObject(api.request)) requireKeys(problems, 'api.request', api.request, ['uid']);
        else problems.push('api.request must be an object');
      }
    } else if (api !== undefined) problems.push('api must be an object');
    if (present(record, 'resources')) {
      if (!Array.isArray(record.resources)) problems.push('resources must be an array');
      else {
        for (const [index, item] of record.resources.entries())
          resource(problems, `resources[${index}]`, item);
      }
    }
  }
  if (classUid === 3005) {
    if (present(record, 'user')) user(problems, 'user', record.user);
    if (!Array.isArray(record.privileges) || record.privileges.some((item) => typeof item !== 'string')) {
      problems.push('privileges must be an array of strings');
    }
    if (present(record, 'resource')) resource(problems, 'resource', record.resource);
  }
  return problems;
}
