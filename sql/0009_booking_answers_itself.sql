-- 0009_booking_answers_itself.sql: the booking function answers with the booked appointment
-- itself: clinic_book_details (bigint x3, timestamptz, bigint, text, bigint) RETURNS SETOF
-- appointment_details, in sql/functions/50_booking.sql. The two functions it replaced have other
-- signatures (CREATE OR REPLACE cannot change them), so they are dropped here. IF EXISTS: a new
-- database never had them.

DROP FUNCTION IF EXISTS clinic_book_details(bigint, bigint, bigint, timestamptz, bigint, text);
DROP FUNCTION IF EXISTS clinic_book(bigint, bigint, bigint, timestamptz, bigint, text, bigint);
