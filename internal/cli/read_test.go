package cli

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestReadJSONStreamsTheSameDocument checks that read --json, which writes a message at a
// time, prints byte for byte the document an indenting encoder writes for the whole list.
func TestReadJSONStreamsTheSameDocument(t *testing.T) {
	rec := func(id, body string) bus.Record {
		a, _ := subjects.ParseTarget("h1.be:2")
		return bus.Record{Envelope: &subjects.Envelope{ID: id, Timestamp: time.Unix(1700000000, 0).UTC(), Target: a,
			Message: subjects.Message{Priority: subjects.High, Content: subjects.Content{Subject: body, Body: body + "\n<b>&more</b>"}}},
			Stream: "ORC_HIGH", Seq: 7, Subject: "orc.high.h1.be.2." + id, Stored: time.Unix(1700000001, 5).UTC(),
			Ack:      &bus.AckRecord{ID: id, Priority: subjects.High, By: "pm", At: time.Unix(1700000002, 0).UTC()},
			Receipts: []bus.Receipt{{ID: id, Priority: subjects.High, Outcome: bus.Delivered, Pane: "%3"}}}
	}
	for _, recs := range [][]bus.Record{
		{},
		{rec("a1", "one")},
		{rec("a1", "one"), rec("b2", "two \"quoted\""), rec("c3", "three")},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Messages []bus.Record `json:"stored_messages"`
			Count    int          `json:"count"`
		}{recs, len(recs)}); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		p := newRecordPrinter(&got, true)
		for _, r := range recs {
			if err := p.print(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("%d messages: streamed\n%s\nwant\n%s", len(recs), got.String(), want.String())
		}
	}
}
