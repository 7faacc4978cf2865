-- wrk script for bench/http.sh: each request takes the next path from a file of paths (one a
-- line, given after `--`), round-robin, each thread starting at its own place in the list.
local threads = 0

function setup(thread)
    thread:set("first", threads * 61)
    threads = threads + 1
end

function init(args)
    paths = {}
    for line in io.lines(args[1]) do
        if line ~= "" then
            paths[#paths + 1] = line
        end
    end
    counter = first or 0
end

function request()
    counter = counter % #paths + 1
    return wrk.format("GET", paths[counter])
end
