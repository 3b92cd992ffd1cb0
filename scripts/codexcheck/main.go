// Command codexcheck is a fake model provider for checking Codex CLI through tracegate by
// hand (scripts/codex-check.sh): on loopback it answers OpenAI Responses requests
// (POST /v1/responses), Anthropic Messages requests (POST /v1/messages) and Chat Completions
// requests (POST /v1/chat/completions, for a provider with wire_api chat) with
// fixture-shaped streams. A first turn gets a call of the shell tool Codex offers; a turn that carries the
// tool's result gets a final answer quoting it, so the output shows the loop went round.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
)

const marker = "codexcheck-tool-ran"

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to listen on")
	portFile := flag.String("port-file", "", "write the chosen address here")
	dump := flag.String("dump", "", "save each request body in this directory")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	var n atomic.Int64
	save := func(kind string, i int64, body []byte) {
		if *dump != "" {
			_ = os.WriteFile(fmt.Sprintf("%s/%02d-%s.json", *dump, i, kind), body, 0o644)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/responses", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(w, r)
		i := n.Add(1)
		save("responses", i, body)
		log.Printf("responses request %d: %d bytes, tool result: %v", i, len(body), strings.Contains(string(body), "function_call_output"))
		streamResponses(w, body)
	})
	mux.HandleFunc("POST /v1/messages", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(w, r)
		i := n.Add(1)
		save("messages", i, body)
		log.Printf("messages request %d: %d bytes, tool result: %v", i, len(body), strings.Contains(string(body), "tool_result"))
		streamMessages(w, body)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		body := readBody(w, r)
		i := n.Add(1)
		save("chat", i, body)
		log.Printf("chat request %d: %d bytes, tool result: %v", i, len(body), strings.Contains(string(body), `"role":"tool"`))
		streamChat(w, body)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("unexpected %s %s", r.Method, r.URL)
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
	})
	log.Fatal(http.Serve(ln, mux))
}

func readBody(w http.ResponseWriter, r *http.Request) []byte {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil || b.Len() > 64<<20 {
			break
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	return []byte(b.String())
}

// shellCall picks the shell tool among the tools the request offers, and its arguments.
func shellCall(body []byte) (name, args string) {
	var req struct {
		Tools []struct {
			Name     string `json:"name"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"` // the Chat Completions shape
		} `json:"tools"`
	}
	_ = json.Unmarshal(body, &req)
	names := map[string]bool{}
	for _, t := range req.Tools {
		names[t.Name], names[t.Function.Name] = true, true
	}
	switch {
	case names["exec_command"]:
		return "exec_command", `{"cmd":"echo ` + marker + `"}`
	case names["shell_command"]:
		return "shell_command", `{"command":"echo ` + marker + `"}`
	default:
		return "shell", `{"command":["bash","-lc","echo ` + marker + `"]}`
	}
}

// toolOutput reports whether the conversation carries a tool result with the marker.
func toolOutput(body []byte) bool {
	b := string(body)
	return strings.Contains(b, marker) && (strings.Contains(b, "function_call_output") || strings.Contains(b, "tool_result") || strings.Contains(b, `"role":"tool"`))
}

func send(w http.ResponseWriter, event string, data any) {
	b, _ := json.Marshal(data)
	if event != "" {
		fmt.Fprintf(w, "event: %s\n", event)
	}
	fmt.Fprintf(w, "data: %s\n\n", b)
	w.(http.Flusher).Flush()
}

func streamResponses(w http.ResponseWriter, body []byte) {
	seq := 0
	ev := func(typ string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		send(w, typ, fields)
	}
	resp := map[string]any{"id": "resp_fake1", "object": "response", "created_at": 1741290958, "status": "in_progress", "model": "gpt-5.4", "output": []any{}}
	ev("response.created", map[string]any{"response": resp})
	ev("response.in_progress", map[string]any{"response": resp})
	var item map[string]any
	if toolOutput(body) {
		text := "The tool printed " + marker + "."
		item = map[string]any{"id": "msg_fake1", "type": "message", "status": "completed", "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": text, "annotations": []any{}}}}
		ev("response.output_item.added", map[string]any{"output_index": 0, "item": map[string]any{"id": "msg_fake1", "type": "message", "status": "in_progress", "role": "assistant", "content": []any{}}})
		ev("response.content_part.added", map[string]any{"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
		ev("response.output_text.delta", map[string]any{"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "delta": text})
		ev("response.output_text.done", map[string]any{"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "text": text})
		ev("response.content_part.done", map[string]any{"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "part": item["content"].([]any)[0]})
	} else {
		name, args := shellCall(body)
		item = map[string]any{"id": "fc_fake1", "type": "function_call", "status": "completed", "call_id": "call_fake1", "name": name, "arguments": args}
		ev("response.output_item.added", map[string]any{"output_index": 0, "item": map[string]any{"id": "fc_fake1", "type": "function_call", "status": "in_progress", "call_id": "call_fake1", "name": name, "arguments": ""}})
		ev("response.function_call_arguments.delta", map[string]any{"item_id": "fc_fake1", "output_index": 0, "delta": args})
		ev("response.function_call_arguments.done", map[string]any{"item_id": "fc_fake1", "output_index": 0, "arguments": args})
	}
	ev("response.output_item.done", map[string]any{"output_index": 0, "item": item})
	resp["status"], resp["output"] = "completed", []any{item}
	resp["usage"] = map[string]any{"input_tokens": 291, "input_tokens_details": map[string]any{"cached_tokens": 0}, "output_tokens": 23, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": 314}
	ev("response.completed", map[string]any{"response": resp})
}

func streamMessages(w http.ResponseWriter, body []byte) {
	send(w, "message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_fake1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": []any{}, "stop_reason": nil, "usage": map[string]any{"input_tokens": 402, "output_tokens": 1}}})
	stop := "end_turn"
	if toolOutput(body) {
		send(w, "content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
		send(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": "The tool printed " + marker + "."}})
	} else {
		name, args := shellCall(body)
		stop = "tool_use"
		send(w, "content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "tool_use", "id": "toolu_fake1", "name": name, "input": map[string]any{}}})
		send(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": args}})
	}
	send(w, "content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	send(w, "message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop}, "usage": map[string]any{"output_tokens": 89}})
	send(w, "message_stop", map[string]any{"type": "message_stop"})
}

func streamChat(w http.ResponseWriter, body []byte) {
	chunk := func(delta map[string]any, finish any) {
		send(w, "", map[string]any{"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1, "model": "local",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
	}
	finish := "stop"
	if toolOutput(body) {
		chunk(map[string]any{"role": "assistant", "content": "The tool printed " + marker + "."}, nil)
	} else {
		name, args := shellCall(body)
		finish = "tool_calls"
		chunk(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_fake1", "type": "function",
			"function": map[string]any{"name": name, "arguments": ""}}}}, nil)
		chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": args}}}}, nil)
	}
	chunk(map[string]any{}, finish)
	send(w, "", map[string]any{"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1, "model": "local", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320}})
	fmt.Fprint(w, "data: [DONE]\n\n")
}
