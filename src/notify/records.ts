// The notification record types (domain/notification.ts) and their Redis store
// (state/notification-store.ts), under the path the notifier and the feature slices import.

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
