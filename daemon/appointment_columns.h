/* appointment_columns.h: the select list that fills a clinic.v1.Appointment from a row of the
 * view appointment_details (or of a function returning its rows, as clinic_book_details does):
 * every handler that answers with appointments reads them the same way. */
#ifndef CLINICD_APPOINTMENT_COLUMNS_H
#define CLINICD_APPOINTMENT_COLUMNS_H

/* care_alerts: what the desk and the therapist should act on before the session (a flagged
 * or missing health history, no consent; sql/functions/82_care.sql), never what the history says.
 * held_until: set while the appointment is a waitlist offer not accepted yet (88_waitlist.sql). */
#define APPOINTMENT_COLUMNS                                                                        \
    "id, client_id, therapist_id, room_id, service_id, location_id, start_time, end_time,"         \
    " status, late_cancel, cancel_reason, booked_by, created_at, updated_at, client_name,"         \
    " therapist_name, room_name, service_name, time_zone, course_id, recorded_reason,"             \
    " clinic_care_alerts(client_id, start_at) AS care_alerts,"                                     \
    " clinic_held_until(id, time_zone) AS held_until"

#endif
