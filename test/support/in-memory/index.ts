export { InMemoryAuditLog } from './audit-log';
export { ManualClock } from './clock';
export { type InMemoryArtefact, InMemoryCloudProvider, InMemoryCloudProviders } from './cloud-provider';
export { SequentialIds } from './ids';
export { InMemoryJobScheduler, type JobHandlers, type JobKind, type RecordedJob } from './job-scheduler';
export { type DirectoryPerson, InMemoryPeopleDirectory } from './people-directory';
export { SettablePolicySource } from './policy-source';
export {
  InMemoryGrantCheckpoints,
  InMemoryHomeViewers,
  InMemoryIrrevocableGrants,
  type NotifierCall,
  RecordingAlerter,
  RecordingNotifier,
} from './recorders';
export { InMemoryRequestStore } from './request-store';
export { type InMemoryWorld, type InMemoryWorldOptions, inMemoryWorld, WORLD_START } from './world';
