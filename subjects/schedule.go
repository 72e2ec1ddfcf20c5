package subjects

import (
	"fmt"
	"strconv"
	"strings"
)

// Scheduled messages wait in their own stream, ScheduleStream, as JetStream message
// schedules: each occurrence is stored on ScheduleSubject with a "Nats-Schedule: @at TIME"
// header, and at that time the server copies it to DueSubject (in the same stream), from
// where the daemons move it into its priority stream. The priority streams cannot hold the
// schedules themselves: JetStream refuses schedules in a stream that discards new messages
// when full, which critical and high do.
const (
	// ScheduleRoot prefixes the schedule subjects.
	ScheduleRoot = Root + ".sched"
	// ScheduleStream stores scheduled messages until they are due.
	ScheduleStream = "ORC_SCHEDULES"
	// MaxOccurrences bounds the occurrences of one repeating schedule.
	MaxOccurrences = 1000
)

// ScheduleSubject is where occurrence n of schedule sid waits: orc.sched.at.<sid>.<n>.
func ScheduleSubject(sid string, n int) string {
	return ScheduleRoot + ".at." + sid + "." + strconv.Itoa(n)
}

// ScheduleSubjects matches every waiting occurrence of schedule sid ("" = of every schedule).
func ScheduleSubjects(sid string) string {
	if sid == "" {
		return ScheduleRoot + ".at.>"
	}
	return ScheduleRoot + ".at." + sid + ".>"
}

// DueSubject is where the server puts occurrence n of schedule sid when it is due.
func DueSubject(sid string, n int) string {
	return ScheduleRoot + ".due." + sid + "." + strconv.Itoa(n)
}

// DueSubjects matches every due occurrence.
const DueSubjects = ScheduleRoot + ".due.>"

// OccurrenceID is the message id of occurrence n of schedule sid: "<sid>-<n>".
func OccurrenceID(sid string, n int) string { return sid + "-" + strconv.Itoa(n) }

// ParseScheduleSubject returns the schedule id and occurrence of a schedule or due subject.
func ParseScheduleSubject(subj string) (sid string, n int, err error) {
	t := strings.Split(subj, ".")
	if len(t) != 5 || t[0]+"."+t[1] != ScheduleRoot || (t[2] != "at" && t[2] != "due") {
		return "", 0, fmt.Errorf("%w: %q: not a schedule subject", ErrSubject, subj)
	}
	if n, err = strconv.Atoi(t[4]); err != nil || n < 1 {
		return "", 0, fmt.Errorf("%w: %q: bad occurrence", ErrSubject, subj)
	}
	return t[3], n, ValidateID(t[3])
}
