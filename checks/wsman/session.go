package wsman

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exdiag/exdiag/checks/psrp"
)

// Limits on what one session may consume; a hostile or broken server gets
// an error, not a hang or an unbounded allocation.
const (
	maxFragment  = 1 << 20 // bytes of one fragment
	maxMessage   = 4 << 20 // bytes of one reassembled message (a command's metadata is ~100 KB)
	maxPending   = 4       // messages incomplete at once (a server finishes one before the next)
	maxPendingB  = maxMessage
	maxReceives  = 5000     // Receive requests per phase
	maxCommands  = 50000    // command names kept
	fragmentSize = 32 << 10 // what the client sends per fragment
	// maxNameLen bounds one command name. PowerShell sets no limit, but
	// Exchange's longest cmdlet names are under 50 characters and a
	// function name is a file-system-sized identifier in practice; 256
	// leaves five times the room and stops a server that sends megabyte
	// "names" (990 KB names took over 1 GiB).
	maxNameLen = 256
	// maxNameBytes bounds all names together: 50000 names of 40 bytes.
	maxNameBytes = 2 << 20
	// maxExpanded bounds what one Receive answer's compressed streams
	// decode to. An answer is at most the 512000-byte envelope the client
	// asks for, 375 KB of stream data; CLIXML compresses about tenfold, so
	// 32 MiB leaves room for data that compresses eight times better,
	// while a bomb (a 4 MiB answer of blocks that each claim 64 KiB is a
	// gigabyte) stops at its block headers. maxChunk bounds one stream
	// element's data, which PowerShell's server fills with 32 KiB of
	// fragments: it is held whole while its fragments are read.
	maxExpanded = 32 << 20
	maxChunk    = maxMessage
	maxErrors   = 20  // error records kept
	maxErrorLen = 512 // bytes kept of each error record's message
	// Back-off between Receives answered "no data yet": a real server
	// waits OperationTimeout before it says so, so one immediate retry is
	// right, and a server that says it at once is polled ever more slowly.
	noDataFirstWait = 50 * time.Millisecond
	noDataMaxWait   = 2 * time.Second
)

// Commands is what a GET_COMMAND_METADATA session found.
type Commands struct {
	Names           []string // sorted, as the server listed them
	ServerCount     int      // the Count object the server sent first (-1: none)
	PSVersion       string   // PSVersionTable.PSVersion from APPLICATION_PRIVATE_DATA
	ProtocolVersion string   // the server's SESSION_CAPABILITY protocolversion
	NoDataRetries   int      // "no data yet" faults polled through
	Compression     string   // "xpress" when the server compressed its output, "none" when not, "" before any
	Records         int      // progress/warning/information/verbose/debug records skipped
	Errors          []string // ERROR_RECORD messages
	ShellCreated    bool
	ShellDeleted    bool
	DeleteError     error
}

// SessionError is a failure of the PSRP layer (the pool or pipeline
// reported Broken or Failed), as opposed to a WS-Management *Fault.
type SessionError struct {
	Phase   string // "open" or "pipeline"
	State   int
	Message string
}

func (e *SessionError) Error() string {
	if e.Phase == "open" {
		return fmt.Sprintf("the runspace pool did not open (state %d): %s", e.State, e.Message)
	}
	return fmt.Sprintf("the get-command pipeline failed (state %d): %s", e.State, e.Message)
}

// cleanupBudget is how long the Signal and Delete of a session may take:
// what is left of ctx plus the late allowance, at most Budgets.Delete.
// After the caller's deadline the runner waits a short grace for a probe
// before it reports and the process may exit, so LateDelete must fit
// inside that grace (checks.TestBudgetsNest says it does).
func (c *Client) cleanupBudget(ctx context.Context) time.Duration {
	if ctx.Err() != nil {
		return c.Budgets.LateDelete
	}
	if dl, ok := ctx.Deadline(); ok {
		return min(time.Until(dl)+c.Budgets.LateDelete, c.Budgets.Delete)
	}
	return c.Budgets.Delete
}

// ListCommands opens a runspace pool in a new shell, asks for the command
// metadata Import-PSSession asks for, and always deletes the shell, on
// success, fault, deadline and cancellation alike: Exchange allows a user
// few shells, and a leaked one counts against them until it times out.
func ListCommands(ctx context.Context, c *Client, names []string, commandType int) (res *Commands, err error) {
	res = &Commands{ServerCount: -1}
	pool := psrp.NewGUID()
	var (
		shellID, commandID string
		commandDone        bool
		cleanOnce          sync.Once
	)
	cleanup := func() {
		cleanOnce.Do(func() {
			// a fresh context: the caller's may be the reason we are here
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cleanupBudget(ctx))
			defer cancel()
			if commandID != "" && !commandDone && ctx.Err() == nil {
				// polite when there is time; Delete ends the command anyway
				_ = c.Signal(dctx, shellID, commandID, SignalTerminate)
			}
			res.DeleteError = c.Delete(dctx, shellID)
			res.ShellDeleted = res.DeleteError == nil
		})
	}
	defer func() {
		if shellID != "" {
			cleanup()
		}
	}()

	var obj uint64
	frags := func(m psrp.Message) [][]byte {
		obj++
		var out [][]byte
		for _, f := range psrp.Split(obj, m.Encode(), fragmentSize) {
			out = append(out, f.Append(nil))
		}
		return out
	}
	creation := append(
		frags(psrp.Message{Destination: psrp.DestinationServer, Type: psrp.SessionCapability, RunspacePool: pool, Data: psrp.SessionCapabilityXML()}),
		frags(psrp.Message{Destination: psrp.DestinationServer, Type: psrp.InitRunspacePool, RunspacePool: pool, Data: psrp.InitRunspacePoolXML()})...)
	shellID, err = c.Create(ctx, pool, creation)
	if err != nil {
		return res, err
	}
	res.ShellCreated = true
	defer func() { res.Compression = c.streams.mode }()

	asm := &psrp.Assembler{MaxMessage: maxMessage, MaxPending: maxPending, MaxPendingBytes: maxPendingB}
	opened := false
	err = receiveLoop(ctx, c, shellID, "", res, asm, func(m psrp.Message) (bool, error) {
		switch m.Type {
		case psrp.SessionCapability:
			capa, err := psrp.ParseSessionCapability(m.Data)
			if err != nil {
				return false, err
			}
			res.ProtocolVersion = capa.ProtocolVersion
		case psrp.ApplicationPrivateData:
			if v, err := psrp.ParseApplicationPrivateData(m.Data); err == nil {
				res.PSVersion = v
			}
		case psrp.RunspacePoolStateMsg:
			st, err := psrp.ParseRunspacePoolState(m.Data)
			if err != nil {
				return false, err
			}
			switch st.State {
			case psrp.PoolOpened:
				opened = true
				return true, nil
			case psrp.PoolBroken, psrp.PoolClosed, psrp.PoolClosing:
				return false, &SessionError{Phase: "open", State: st.State, Message: st.Error}
			}
		}
		return false, nil
	}, nil)
	if err != nil {
		return res, err
	}
	if !opened {
		return res, errors.New("the server ended the shell's output before the runspace pool opened")
	}

	pipe := psrp.NewGUID()
	args := frags(psrp.Message{Destination: psrp.DestinationServer, Type: psrp.GetCommandMetadata, RunspacePool: pool, Pipeline: pipe,
		Data: psrp.GetCommandMetadataXML(names, commandType)})
	commandID, err = c.Command(ctx, shellID, pipe, args)
	if err != nil {
		return res, err
	}
	out := parseOutputs(res)
	finished := false
	err = receiveLoop(ctx, c, shellID, commandID, res, asm, func(m psrp.Message) (bool, error) {
		switch m.Type {
		case psrp.PipelineOutput:
			return out.add(ctx, m.Data)
		case psrp.ErrorRecord:
			if len(res.Errors) >= maxErrors {
				return false, nil
			}
			if msg, err := psrp.ParseErrorRecord(m.Data); err == nil {
				res.Errors = append(res.Errors, clipText(msg, maxErrorLen))
			}
		case psrp.PipelineStateMsg:
			st, err := psrp.ParsePipelineState(m.Data)
			if err != nil {
				return false, err
			}
			switch st.State {
			case psrp.PipelineCompleted:
				finished = true
				return true, nil
			case psrp.PipelineFailed, psrp.PipelineStopped:
				finished = true
				return true, &SessionError{Phase: "pipeline", State: st.State, Message: st.Error}
			}
		case psrp.ProgressRecord, psrp.WarningRecord, psrp.InformationRecord, psrp.VerboseRecord, psrp.DebugRecord:
			res.Records++
		}
		return false, nil
	}, &commandDone)
	// a pipeline that reached a final state needs no Signal before the
	// Delete, even when the server has not yet said the command is Done:
	// one round trip less, and Delete ends the command anyway. Its output
	// is all in, so the Delete goes out while the parser finishes, not
	// after: the parse of the last answer and the Delete's round trip
	// overlap.
	commandDone = commandDone || finished
	var deleted chan struct{}
	if finished {
		deleted = make(chan struct{})
		go func() {
			defer close(deleted)
			cleanup()
		}()
	}
	if perr := out.wait(); perr != nil && (err == nil || errors.Is(err, errOutputParse)) {
		err = perr
	}
	if deleted != nil {
		<-deleted
	}
	sort.Strings(res.Names)
	if err != nil {
		return res, err
	}
	if !finished {
		return res, errors.New("the command ended without a pipeline state")
	}
	return res, nil
}

// errOutputParse stops the receive loop when the parser has failed; the
// parser's own error is what the session reports.
var errOutputParse = errors.New("the command output did not parse")

// outputParser decodes PIPELINE_OUTPUT objects in a goroutine of its own:
// a command's metadata costs a small machine more to parse than a round
// trip, so the next Receive goes out while the last answer is parsed.
// Only the pipeline's state decides when the loop ends, and that is read
// in line.
type outputParser struct {
	in     chan []byte
	done   chan struct{}
	failed atomic.Bool
	err    error // set before done closes
}

func parseOutputs(res *Commands) *outputParser {
	// a few messages queued at most: each may be a whole envelope
	p := &outputParser{in: make(chan []byte, 8), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		seen := map[string]bool{}
		records, nameBytes := 0, 0
		defer func() { res.Records += records }()
		for data := range p.in {
			if p.err != nil {
				continue // drain
			}
			info, n, isCount, err := psrp.ParseCommandMetadataOutput(data)
			switch {
			case err != nil:
				p.err = err
				p.failed.Store(true)
			case isCount:
				res.ServerCount = n
			case info.Name == "":
				records++
			case len(info.Name) > maxNameLen:
				p.err = fmt.Errorf("the server listed a command name of %d bytes; no cmdlet name is longer than %d, so this is not an exchange server's answer", len(info.Name), maxNameLen)
				p.failed.Store(true)
			case !seen[info.Name] && len(res.Names) < maxCommands:
				if nameBytes += len(info.Name); nameBytes > maxNameBytes {
					p.err = fmt.Errorf("the server listed more than %d bytes of command names; no exchange role exposes that many", maxNameBytes)
					p.failed.Store(true)
					continue
				}
				seen[info.Name] = true
				res.Names = append(res.Names, info.Name)
			}
		}
	}()
	return p
}

// add queues one output object; it stops the loop once parsing failed.
func (p *outputParser) add(ctx context.Context, data []byte) (bool, error) {
	if p.failed.Load() {
		return true, errOutputParse
	}
	select {
	case p.in <- data:
		return false, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// wait ends the parser and returns its error; res is complete after it.
func (p *outputParser) wait() error {
	close(p.in)
	<-p.done
	return p.err
}

// receiveLoop polls Receive and hands each reassembled message to handle
// until it says stop, retrying "no data yet". done, when non-nil, is set
// when the server reports the command Done.
func receiveLoop(ctx context.Context, c *Client, shellID, commandID string, res *Commands, asm *psrp.Assembler,
	handle func(psrp.Message) (bool, error), done *bool) error {
	wait := time.Duration(0)
	for range maxReceives {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := c.Receive(ctx, shellID, commandID)
		if IsNoDataYet(err) {
			res.NoDataRetries++
			if err := c.pause(ctx, wait); err != nil {
				return err
			}
			wait = min(max(2*wait, noDataFirstWait), noDataMaxWait)
			continue
		}
		wait = 0
		if err != nil {
			return err
		}
		if r.Done && done != nil {
			*done = true
		}
		stop := false
		for _, chunk := range r.Chunks {
			frs, err := psrp.ParseFragments(chunk, maxFragment)
			if err != nil {
				return err
			}
			for _, f := range frs {
				data, complete, err := asm.Add(f)
				if err != nil {
					return err
				}
				if !complete || stop {
					continue
				}
				m, err := psrp.DecodeMessage(data)
				if err != nil {
					return err
				}
				s, err := handle(m)
				if err != nil {
					return err
				}
				stop = stop || s
			}
		}
		if stop {
			return nil
		}
		if r.Done {
			return nil
		}
	}
	return fmt.Errorf("no end after %d receive requests", maxReceives)
}

// pause waits d, or less if ctx ends first (then it returns ctx's error).
func (c *Client) pause(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// clipText keeps at most n bytes of s, cut at a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
