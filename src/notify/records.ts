// The notification record types (domain/notification.ts) and their Redis store
// (state/notification-store.ts) under their former path, for campaigns/ and duties/ (renamed on
// another branch at the time of the move); new code imports the two modules directly.

export {
  NOTIFICATION_STATES,
  isFinal,
  type NotificationFilter,
  type NotificationItem,
  type NotificationKind,
  type NotificationRecord,
  type NotificationRecords,
  type NotificationState,
} from '../domain/notification.js';
export { NotificationStore } from '../state/notification-store.js';
